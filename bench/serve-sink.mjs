// The Python SDK's own floor for bench/serve.mjs's put and get: a gRPC endpoint that does no
// work. It answers pfs_v2.API/GetFile, whatever is asked, with SIZE bytes in 2 MiB BytesValue
// messages (pach serve's size), one message framed once and written again and again; it reads
// and drops what any other call sends (ModifyFile's bytes) and answers it with one empty
// message (every field at its default: StartCommit's commit, FinishCommit's Empty). What the
// SDK's `put_file_from_file` and `pfs_file` take against it is what the client alone costs on
// this machine: no server can make the transfer faster than that.
//
//   node bench/serve-sink.mjs [SIZE_MIB]   (prints {"port": N} on its first line; SIGTERM stops it)
import http2 from 'node:http2'

const SIZE = Number(process.argv[2] ?? 1024) * 1024 * 1024
const PIECE = 2 * 1024 * 1024
// one message: gRPC frame (flag, length) + BytesValue (tag 1, varint length, the bytes)
const varint = (n) => {
  const out = []
  while (n >= 128) {
    out.push((n % 128) | 128)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Buffer.from(out)
}
const value = Buffer.alloc(PIECE, 7)
const body = Buffer.concat([Buffer.from([0x0a]), varint(PIECE), value])
const head = Buffer.alloc(5)
head.writeUInt32BE(body.length, 1)
const message = Buffer.concat([head, body])

const server = http2.createServer({settings: {initialWindowSize: 32 << 20, maxFrameSize: 1 << 20}})
server.on('session', (s) => s.setLocalWindowSize(64 << 20))
server.on('stream', (stream, headers) => {
  stream.on('error', () => {})
  if (headers[':path'] !== '/pfs_v2.API/GetFile') {
    stream.on('data', () => {})
    stream.on('end', () => {
      stream.respond({':status': 200, 'content-type': 'application/grpc'}, {waitForTrailers: true})
      stream.on('wantTrailers', () => stream.sendTrailers({'grpc-status': '0'}))
      stream.end(Buffer.alloc(5)) // one empty message
    })
    return
  }
  stream.on('data', () => {})
  stream.respond({':status': 200, 'content-type': 'application/grpc'}, {waitForTrailers: true})
  stream.on('wantTrailers', () => stream.sendTrailers({'grpc-status': '0'}))
  let sent = 0
  const more = () => {
    while (sent < SIZE) {
      sent += PIECE
      if (!stream.write(message)) return void stream.once('drain', more)
    }
    stream.end()
  }
  more()
})
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({port: server.address().port})))
process.on('SIGTERM', () => process.exit(0))
