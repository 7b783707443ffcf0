/**
 * The S3 gateway's HTTP listener: node:http, one Gateway (gateway.ts) behind it. Listening,
 * and closing: `close` stops accepting, ends idle keep-alive connections, and destroys what is
 * still open after a grace period (a write in flight is abandoned before its commit), then
 * stops the gateway's body hashing worker.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {BodyHasher} from './body-hasher.js'
import {Gateway, type GatewayOptions} from './gateway.js'

export interface S3Listener {
  host: string
  port: number
  close(): Promise<void>
}

/** Serve `opts` on host:port (0 = any free port); rejects when it cannot listen. */
export async function listenS3(host: string, port: number, opts: GatewayOptions): Promise<S3Listener> {
  const bodyHasher = new BodyHasher()
  const gw = new Gateway({...opts, bodyHasher})
  const server: Server = createServer({maxHeaderSize: 16 * 1024, requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 5_000}, (req, res) => {
    void gw.handle(req, res)
  })
  // a connection idle for 5 minutes (a client stalled mid-body) is closed: its write is abandoned
  // before its commit and releases its write lease (which `pach gc` waits for); no total limit,
  // so a slow but moving multi-GiB upload is never cut
  server.setTimeout(5 * 60_000)
  // a malformed request line or oversize headers: answered 400/431 by node, the connection closed
  server.on('clientError', (_e, socket) => {
    if (socket.writable && !socket.destroyed) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host.replace(/^\[|\]$/g, ''), () => {
      server.off('error', reject)
      resolve()
    })
  })
  const bound = (server.address() as AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    host,
    port: bound,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => void bodyHasher.close().then(() => resolve()))
        server.closeIdleConnections()
        setTimeout(() => server.closeAllConnections(), 2000).unref()
      })
      return closing
    },
  }
}
