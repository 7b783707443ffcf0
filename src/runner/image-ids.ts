/**
 * The ids the local Docker engine gives image references now, without pulling and without
 * dockerode (its ~400 ms import would slow `list pipeline` down): one raw `GET
 * /images/<ref>/json` per reference over the engine's unix socket (DOCKER_HOST when it names
 * one, else /var/run/docker.sock), the same request `docker image inspect` makes. A 404 is an
 * image the engine lacks (undefined); no answer within the budget, an engine over tcp/ssh, or
 * any other failure: no answer at all (undefined), and the caller shows no drift.
 */
import {request} from 'node:http'
import type {LocalImageIds} from '../core/pps/runner.js'

function inspectId(socketPath: string, image: string, timeoutMs: number): Promise<{id?: string} | undefined> {
  return new Promise((resolveId) => {
    let settled = false
    const done = (v: {id?: string} | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
      resolveId(v)
    }
    const req = request({socketPath, path: `/images/${encodeURI(image)}/json`, method: 'GET', headers: {Host: 'docker'}}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        if (res.statusCode === 404) return done({})
        if (res.statusCode !== 200) return done(undefined)
        try {
          const id = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as {Id?: unknown}).Id
          done(typeof id === 'string' ? {id} : undefined)
        } catch {
          done(undefined)
        }
      })
      res.on('error', () => done(undefined))
    })
    const timer = setTimeout(() => done(undefined), timeoutMs)
    req.on('error', () => done(undefined))
    req.end()
  })
}

/** A LocalImageIds over the engine's unix socket (see the header); `timeoutMs` bounds each request (default 1 s). */
export function dockerImageIds(opts: {socketPath?: string; timeoutMs?: number} = {}): LocalImageIds {
  return async (images) => {
    const host = process.env.DOCKER_HOST
    if (!opts.socketPath && host && !host.startsWith('unix://')) return undefined
    const socket = opts.socketPath ?? (host ? host.slice('unix://'.length) : '/var/run/docker.sock')
    const out = new Map<string, string | undefined>()
    for (const image of images) {
      const r = await inspectId(socket, image, opts.timeoutMs ?? 1000)
      if (!r) return undefined
      out.set(image, r.id)
    }
    return out
  }
}
