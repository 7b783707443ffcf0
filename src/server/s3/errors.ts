/**
 * S3 errors: what a gateway request fails with, as S3 reports it (HTTP status, S3 error code,
 * message). Protocol errors (signatures, XML, ranges, unknown routes) are raised here as
 * `S3Error`; errors of the core (PachError) are mapped by the one registry in
 * src/core/errors.ts (`s3ErrorOf`). Anything else is a bug: 500 InternalError, logged.
 */
import {isPachError, printable, s3ErrorOf} from '../../core/errors.js'

export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** extra response headers (e.g. Content-Range on 416) */
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = 'S3Error'
  }
}

/** S3's standard messages for the codes the gateway raises. */
export const MESSAGES: Record<string, string> = {
  AccessDenied: 'Access Denied',
  BadDigest: 'The Content-MD5 or checksum you specified did not match what we received.',
  BucketAlreadyOwnedByYou: 'Your previous request to create the named bucket succeeded and you already own it.',
  BucketNotEmpty: 'The bucket you tried to delete is not empty',
  EntityTooSmall: 'Your proposed upload is smaller than the minimum allowed object size.',
  IncompleteBody: 'You did not provide the number of bytes specified by the Content-Length HTTP header.',
  InvalidAccessKeyId: 'The AWS Access Key Id you provided does not exist in our records.',
  InvalidBucketName: 'The specified bucket is not valid.',
  InvalidDigest: 'The Content-MD5 you specified is not valid.',
  InvalidPart: 'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.',
  InvalidPartOrder: 'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
  InvalidRange: 'The requested range is not satisfiable',
  MalformedXML: 'The XML you provided was not well-formed or did not validate against our published schema.',
  MethodNotAllowed: 'The specified method is not allowed against this resource.',
  MissingContentLength: 'You must provide the Content-Length HTTP header.',
  NoSuchBucket: 'The specified bucket does not exist',
  NoSuchKey: 'The specified key does not exist.',
  NoSuchUpload: 'The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.',
  NotImplemented: 'This functionality is not implemented.',
  PreconditionFailed: 'At least one of the pre-conditions you specified did not hold',
  RequestTimeTooSkewed: 'The difference between the request time and the server\'s time is too large.',
  SignatureDoesNotMatch: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
}

export function s3err(status: number, code: string, message?: string, headers?: Record<string, string>): S3Error {
  return new S3Error(status, code, message ?? MESSAGES[code] ?? code, headers)
}

/** Any thrown value as an S3Error; `bug` is true when it is not a foreseen error. */
export function toS3Error(e: unknown): {err: S3Error; bug: boolean} {
  if (e instanceof S3Error) return {err: e, bug: false}
  if (isPachError(e)) {
    const [status, code] = s3ErrorOf(e.code)
    return {err: new S3Error(status, code, printable(e.message)), bug: status >= 500 && e.code !== 'DISK_FULL' && e.code !== 'LOCKED'}
  }
  return {err: new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.'), bug: true}
}
