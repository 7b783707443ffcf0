/**
 * Live job progress (ink), rendered to stderr on a TTY while triggered jobs run.
 * One line per job: a bar of processed+skipped over total, failures, and the final state.
 */
import React, {useEffect, useState} from 'react'
import {Box, render, Text} from 'ink'
import type {JobEvent} from '../core/pps/job-service.js'

interface Row {
  key: string
  name: string
  total: number
  todo: number
  skipped: number
  done: number
  failed: number
  state?: string
  reason?: string
}

type Listener = (rows: Row[]) => void

export class JobProgressModel {
  private rows = new Map<string, Row>()
  private listeners = new Set<Listener>()

  on(l: Listener): () => void {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }

  private emit(): void {
    const list = [...this.rows.values()]
    for (const l of this.listeners) l(list)
  }

  handle(e: JobEvent): void {
    if (e.type === 'job-start') {
      this.rows.set(e.pipeline + e.id, {key: e.pipeline + e.id, name: `${e.pipeline}@${e.id.slice(0, 8)}`, total: e.total, todo: e.toProcess, skipped: e.skipped, done: 0, failed: 0})
    } else if (e.type === 'datum-end') {
      const r = this.rows.get(e.pipeline + e.id)
      if (r) {
        r.done++
        if (e.state === 'FAILED') r.failed++
      }
    } else if (e.type === 'job-end') {
      const key = e.job.job.pipeline.name + e.job.job.id
      const r = this.rows.get(key) ?? {key, name: `${e.job.job.pipeline.name}@${e.job.job.id.slice(0, 8)}`, total: e.job.data_total, todo: 0, skipped: e.job.data_skipped, done: 0, failed: 0}
      r.state = e.job.state.replace('JOB_', '').toLowerCase()
      r.reason = e.job.reason
      this.rows.set(key, r)
    } else return
    this.emit()
  }
}

function Bar({row}: {row: Row}) {
  const width = 24
  const frac = row.total ? (row.skipped + row.done) / row.total : 1
  const filled = Math.round(frac * width)
  const color = row.state === 'success' ? 'green' : row.state ? 'red' : 'cyan'
  return (
    <Box>
      <Text>{row.name.padEnd(44)} </Text>
      <Text color={color}>{'█'.repeat(filled)}{'░'.repeat(width - filled)}</Text>
      <Text>
        {' '}
        {row.done}/{row.todo} processed, {row.skipped} skipped{row.failed ? `, ${row.failed} failed` : ''}
        {row.state ? ` — ${row.state}${row.reason ? `: ${row.reason}` : ''}` : ''}
      </Text>
    </Box>
  )
}

function App({model}: {model: JobProgressModel}) {
  const [rows, setRows] = useState<Row[]>([])
  useEffect(() => model.on(setRows), [model])
  return (
    <Box flexDirection="column">
      {rows.map((r) => (
        <Bar key={r.key} row={r} />
      ))}
    </Box>
  )
}

/** Start the live view; returns the event handler and a stop function. */
export function startJobProgress(): {onEvent: (e: JobEvent) => void; stop: () => void} {
  const model = new JobProgressModel()
  const inst = render(<App model={model} />, {stdout: process.stderr as unknown as NodeJS.WriteStream, patchConsole: false, exitOnCtrlC: false})
  return {
    onEvent: (e) => model.handle(e),
    stop: () => {
      inst.rerender(<App model={model} />)
      inst.unmount()
    },
  }
}
