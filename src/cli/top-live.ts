/**
 * `pach top`'s live source: reads a snapshot whenever the project changes and hands the view
 * (top-model.ts) to whoever subscribed (the ink screen, src/ui/top.ts).
 *
 * When: the core's ChangeFeed says "the database changed" (any process: a CLI command, a job
 * runner reporting its datum counts, `pach serve`), and at least every `tickMs` without a
 * change (rates and ETAs move with time, and a running job's log lines live in files the
 * feed does not see). Reads are at least `minIntervalMs` apart, so a burst of writes costs
 * one read. A read that fails stops the view with that error (`onError`).
 */
import {join} from 'node:path'
import {ChangeFeed} from '../core/db/change-feed.js'
import type {Pach} from '../core/pach.js'
import {addSamples, moveSelection, topView, type RateHistory, type TopSnapshot, type TopView} from './top-model.js'
import {readTopSnapshot, TopLogs} from './top-snapshot.js'

/** What the screen needs: the view now, its changes, and the keys that move the selection. */
export interface TopController {
  view(): TopView
  subscribe(listener: (v: TopView) => void): () => void
  select(delta: number): void
}

export interface TopLiveOptions {
  /** the pipeline selected at start (default: the first) */
  selected?: string
  /** how many log lines to keep for the screen */
  logLines?: number
  tickMs?: number
  minIntervalMs?: number
}

export class TopLive implements TopController {
  private readonly feed: ChangeFeed
  private readonly logs: TopLogs
  private readonly listeners = new Set<(v: TopView) => void>()
  private readonly stopped = new AbortController()
  private snap: TopSnapshot
  private history: RateHistory = new Map()
  private selected: string | undefined
  private current: TopView
  onError: (e: unknown) => void = () => {}

  constructor(
    private readonly pach: Pach,
    private readonly project: string,
    private readonly opts: TopLiveOptions = {},
  ) {
    this.feed = new ChangeFeed(join(pach.pachDir, 'pach.db'), 20, opts.tickMs ?? 1000)
    this.logs = new TopLogs(pach, project)
    this.selected = opts.selected
    this.snap = readTopSnapshot(pach, project)
    this.current = this.render(true)
  }

  view(): TopView {
    return this.current
  }

  subscribe(listener: (v: TopView) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  select(delta: number): void {
    this.selected = moveSelection(this.snap, this.current.selected, delta)
    this.emit(this.render(false))
  }

  /** Follow the project until stop(). */
  async start(): Promise<void> {
    const signal = this.stopped.signal
    let last = Date.now()
    try {
      while (!signal.aborted) {
        await this.feed.next(signal)
        const wait = (this.opts.minIntervalMs ?? 200) - (Date.now() - last)
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
        if (signal.aborted) break
        last = Date.now()
        this.snap = readTopSnapshot(this.pach, this.project)
        this.emit(this.render(true))
      }
    } catch (e) {
      if (!signal.aborted) this.onError(e)
    }
  }

  stop(): void {
    this.stopped.abort()
    this.feed.close()
  }

  private render(sample: boolean): TopView {
    if (sample) this.history = addSamples(this.history, this.snap)
    const base = topView(this.snap, this.history, this.selected)
    this.selected = base.selected
    const node = this.snap.nodes.find((n) => n.name === base.selected)
    return {...base, logs: base.selected === undefined ? [] : this.logs.newest(base.selected, node?.job, this.opts.logLines ?? 200)}
  }

  private emit(v: TopView): void {
    this.current = v
    for (const l of this.listeners) l(v)
  }
}
