/**
 * A TCP proxy that counts the bytes it carries, to measure what a client puts on the wire:
 * listens on localhost:0, forwards every connection to `target` (host:port), and counts bytes
 * each way across all connections. Closed (with its connections) when the test finishes.
 */
import {connect, createServer, type Socket} from 'node:net'
import {onTestFinished} from 'vitest'

export interface TcpCounter {
  /** host:port to connect to instead of the target */
  address: string
  /** grpc://host:port */
  url: string
  /** bytes client → target (`up`) and target → client (`down`) since the start or the last reset */
  bytes(): {up: number; down: number}
  reset(): void
  close(): Promise<void>
}

export async function tcpCounter(target: string): Promise<TcpCounter> {
  const i = target.lastIndexOf(':')
  const host = target.slice(0, i)
  const port = Number(target.slice(i + 1))
  let up = 0
  let down = 0
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect({host, port})
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.on('data', (d: Buffer) => {
      up += d.length
      if (!upstream.write(d)) client.pause()
    })
    upstream.on('drain', () => client.resume())
    upstream.on('data', (d: Buffer) => {
      down += d.length
      if (!client.write(d)) upstream.pause()
    })
    client.on('drain', () => upstream.resume())
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address() as {port: number}
  const address = `127.0.0.1:${addr.port}`
  let closed: Promise<void> | undefined
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }))
  onTestFinished(close)
  return {
    address,
    url: `grpc://${address}`,
    bytes: () => ({up, down}),
    reset: () => {
      up = 0
      down = 0
    },
    close,
  }
}
