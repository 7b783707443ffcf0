// The aws CLI's own floor for bench/s3.mjs: an S3 endpoint that does no work. Uploads are read
// and dropped (no hashing, no storing, no signature check); downloads are served from one file
// on disk (page cache) with HEAD and ranged GETs, as `aws s3 cp` asks for them. What `aws s3 cp`
// takes against this server is what the client alone costs on this machine: no gateway can make
// the transfer faster than that.
//
//   node bench/s3-sink.mjs FILE    (prints {"port": N} on its first line; SIGTERM stops it)
import fs from 'node:fs'
import http from 'node:http'

const file = process.argv[2]
const xml = (body) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`
let uploads = 0

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://sink')
  const [, bucket, ...rest] = url.pathname.split('/')
  const key = rest.join('/')
  const etag = '"00000000000000000000000000000000"'
  if (req.method === 'PUT' || req.method === 'POST') {
    req.on('data', () => {})
    req.on('end', () => {
      if (req.method === 'POST' && url.searchParams.has('uploads')) {
        res.writeHead(200, {'content-type': 'application/xml'})
        res.end(xml(`<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>u${++uploads}</UploadId></InitiateMultipartUploadResult>`))
      } else if (req.method === 'POST') {
        res.writeHead(200, {'content-type': 'application/xml'})
        res.end(xml(`<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>${etag}</ETag></CompleteMultipartUploadResult>`))
      } else {
        res.writeHead(200, {etag, 'content-length': '0'})
        res.end()
      }
    })
    return
  }
  if (req.method === 'HEAD' || req.method === 'GET') {
    const size = fs.statSync(file).size
    const headers = {etag, 'last-modified': new Date(0).toUTCString(), 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream'}
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    const start = m ? Number(m[1]) : 0
    const end = m && m[2] ? Math.min(Number(m[2]), size - 1) : size - 1
    if (m) headers['content-range'] = `bytes ${start}-${end}/${size}`
    res.writeHead(m ? 206 : 200, {...headers, 'content-length': String(end - start + 1)})
    if (req.method === 'HEAD') return res.end()
    fs.createReadStream(file, {start, end, highWaterMark: 1 << 20}).pipe(res)
    return
  }
  res.writeHead(405)
  res.end()
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({port: server.address().port})))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
