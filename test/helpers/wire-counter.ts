/**
 * A counting TCP proxy for tests: listens on a free localhost port, forwards every connection
 * to `target` (host:port) and counts the bytes each way, so a test can measure what a client
 * really put on the wire (HTTP/2 framing and all), and can stall a client mid-request. Closed
 * when the test finishes.
 */
import {createServer, connect, type Socket} from 'node:net'
import {onTestFinished} from 'vitest'

export interface WireCounter {
  /** grpc://127.0.0.1:port, to hand to the client instead of the target */
  url: string
  /** bytes from clients to the target since the start (or the last reset) */
  up(): number
  /** bytes from the target back to clients */
  down(): number
  reset(): void
  /**
   * Stop forwarding client bytes once `n` have gone up (later ones are dropped): a client
   * then hangs mid-request, where a test can kill it. Resolves when the stall begins.
   */
  stallAfter(n: number): Promise<void>
  close(): Promise<void>
}

export async function wireCounter(target: string): Promise<WireCounter> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))]
  let up = 0
  let down = 0
  let stall: {at: number; reached: () => void} | undefined
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(port, host)
    sockets.add(client).add(upstream)
    // forwarded with backpressure both ways: a large transfer is counted, not buffered here
    client.on('data', (d) => {
      if (stall && up >= stall.at) return
      up += d.length
      if (!upstream.write(d)) client.pause()
      if (stall && up >= stall.at) stall.reached()
    })
    upstream.on('drain', () => client.resume())
    upstream.on('data', (d) => {
      down += d.length
      if (!client.write(d)) upstream.pause()
    })
    client.on('drain', () => upstream.resume())
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
  const addr = server.address() as {port: number}
  let closed: Promise<void> | undefined
  const close = () =>
    (closed ??= new Promise<void>((res) => {
      for (const s of sockets) s.destroy()
      server.close(() => res())
    }))
  onTestFinished(close)
  return {
    url: `grpc://127.0.0.1:${addr.port}`,
    up: () => up,
    down: () => down,
    reset() {
      up = 0
      down = 0
    },
    stallAfter: (n) => new Promise<void>((reached) => (stall = {at: n, reached})),
    close,
  }
}
