/**
 * Image drift (issue 16 §7): a pipeline's image is a tag, and a tag can be moved (the user
 * rebuilt the image under the same name). Every job that ran datums with the docker runner
 * records the image id it used (`jobs.details.image_id`, job-service.ts); a pipeline
 * **drifts** when its spec's image reference now names, in the local engine, another id than
 * the newest job that recorded one used for that same reference. Datums run after the move
 * would silently use the new image, mixing two images' outputs in one version: `update
 * pipeline` says so (a new version, whose datums run with the new image; `--reprocess` reruns
 * them all), and `list pipeline` shows it.
 *
 * Pure: the newest recorded use and the engine's answer in, the drift out. A job that ran no
 * datum (everything skipped) used no image and records none; a reference the engine does not
 * have (to be pulled by the next job) or a pipeline whose jobs recorded no id (local runner)
 * has no drift to tell.
 */

/** The newest job of a pipeline that recorded the image id it ran with. */
export interface ImageUse {
  job: string
  /** the image reference of that job's spec */
  image: string
  /** the id it resolved to (`sha256:…`) */
  image_id: string
}

export interface ImageDrift {
  /** the image reference (of the spec, and of the job that used it) */
  image: string
  /** the id the newest job that recorded one used */
  used: string
  /** that job */
  job: string
  /** the id the reference names in the local engine now */
  now: string
}

/** The drift of a pipeline whose spec names `image`, given its newest recorded use and the engine's ids now. */
export function imageDrift(image: string, use: ImageUse | undefined, now: ReadonlyMap<string, string | undefined>): ImageDrift | undefined {
  if (!use || use.image !== image) return undefined
  const id = now.get(image)
  return id && id !== use.image_id ? {image, used: use.image_id, job: use.job, now: id} : undefined
}

/** `sha256:0123456789ab` (the 12 hex digits `docker images` shows). */
export const shortImageId = (id: string): string => {
  const [algo, hex] = id.includes(':') ? id.split(':', 2) : ['', id]
  return `${algo ? algo + ':' : ''}${hex!.slice(0, 12)}`
}

/** One line for a user: what moved, and what to do. */
export function driftLine(pipeline: string, d: ImageDrift): string {
  return `pipeline ${pipeline}: image ${d.image} now names ${shortImageId(d.now)}, not ${shortImageId(d.used)} that job ${d.job} ran with`
}
