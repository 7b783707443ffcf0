/**
 * `pach top`'s screen (ink 3, React 17): the view model's rows (src/cli/top-model.ts) drawn
 * as a table with the selected pipeline highlighted, its job's progress bar, rate and ETA,
 * and the newest log lines that fit the terminal. Keys: ↑/↓ or k/j move the selection,
 * q or Ctrl-C quit.
 *
 * Only `pach top` loads this module (a dynamic import), so ink and React cost nothing to
 * any other command's start. Written with React.createElement (no JSX): the build compiles
 * it as any other module. ink restores the terminal (cursor, raw mode) when it unmounts,
 * which every way out goes through: q, Ctrl-C, an aborted signal, a failed read.
 */
import ink from 'ink'
import React from 'react'
import type {TopController} from '../cli/top-live.js'
import {formatEta, formatRate, logLineText, progressBar, progressText, type TopRowView, type TopView} from '../cli/top-model.js'

const h = React.createElement
const {Box, Text, useApp, useInput, useStdout} = ink

const STATE_COLOR: Record<string, string> = {
  PIPELINE_RUNNING: 'cyan',
  PIPELINE_STARTING: 'cyan',
  PIPELINE_FAILURE: 'red',
  PIPELINE_CRASHING: 'red',
  PIPELINE_RESTARTING: 'yellow',
  PIPELINE_PAUSED: 'yellow',
}

/** One frame: the view as it stands (no state, no input). */
export function TopScreen({view, rows = 24, width = 80}: {view: TopView; rows?: number; width?: number}): React.ReactElement {
  const time = view.at.slice(11, 19)
  const sel = view.rows.find((r) => r.selected)
  const job = sel?.job
  const head = [
    h(Box, {key: 'title'}, h(Text, {bold: true}, `pach top · project ${view.project} · ${time}`), h(Text, {dimColor: true}, '   ↑/↓ j/k select · q quit')),
  ]
  if (!view.rows.length) {
    return h(Box, {flexDirection: 'column'}, ...head, h(Text, {key: 'none'}, 'no pipelines yet (create one with `pach create pipeline -f SPEC`)'))
  }
  const table = [
    h(Text, {key: 'header', bold: true, wrap: 'truncate-end'}, `  ${view.header}`),
    ...view.rows.map((r: TopRowView) =>
      h(
        Text,
        {key: `row-${r.node.name}`, wrap: 'truncate-end', inverse: r.selected, color: r.selectable ? STATE_COLOR[r.node.state ?? ''] : undefined, dimColor: !r.selectable},
        `${r.selected ? '›' : ' '} ${r.text}`,
      ),
    ),
  ]
  const detail: React.ReactElement[] = []
  if (sel) {
    detail.push(
      h(
        Text,
        {key: 'job', wrap: 'truncate-end'},
        job
          ? `${sel.node.name}@${job.id}  ${progressBar(job, 20)} ${progressText(job)} · ${formatRate(job.rate)} · ETA ${formatEta(job.eta_seconds)}`
          : `${sel.node.name}: no job yet`,
      ),
    )
    const reason = job?.reason || (sel.node.state === 'PIPELINE_FAILURE' ? sel.node.reason : '')
    if (reason) detail.push(h(Text, {key: 'reason', color: 'red', wrap: 'truncate-end'}, reason))
  }
  // what is left of the terminal goes to the log lines (at least 3)
  const used = head.length + table.length + detail.length + 3
  const room = Math.max(3, rows - used)
  const logs = view.logs.slice(-room)
  const logTitle = sel ? `logs of ${sel.node.name}${job ? `@${job.id.slice(0, 8)}` : ''}${logs.length ? '' : ': none'}` : ''
  return h(
    Box,
    {flexDirection: 'column', width},
    ...head,
    h(Box, {key: 'table', flexDirection: 'column', marginTop: 1}, ...table),
    h(Box, {key: 'detail', flexDirection: 'column', marginTop: 1}, ...detail),
    h(
      Box,
      {key: 'logs', flexDirection: 'column'},
      h(Text, {key: 'logs-title', dimColor: true}, logTitle),
      ...logs.map((l, i) => h(Text, {key: `log-${i}`, wrap: 'truncate-end', color: l.stream === 'stderr' ? 'yellow' : undefined}, logLineText(l))),
    ),
  )
}

/** The screen following a controller, with the keys (see the header). */
export function TopApp({controller}: {controller: TopController}): React.ReactElement {
  const [view, setView] = React.useState(controller.view())
  const {exit} = useApp()
  const {stdout} = useStdout()
  const [, setSize] = React.useState(0)
  React.useEffect(() => controller.subscribe(setView) as () => void, [controller])
  // a resized terminal: draw again for its new height and width
  React.useEffect(() => {
    const resized = () => setSize((n) => n + 1)
    stdout?.on('resize', resized)
    return () => void stdout?.off('resize', resized)
  }, [stdout])
  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) exit()
    else if (key.upArrow || input === 'k') controller.select(-1)
    else if (key.downArrow || input === 'j') controller.select(1)
  })
  return h(TopScreen, {view, rows: stdout?.rows || 24, width: stdout?.columns || 80})
}

/**
 * Show the live view until q, Ctrl-C or `signal`; the terminal is restored on every way out.
 * Throws what `follow`'s reads threw, after the screen is gone.
 */
export async function runTop(controller: TopController & {start(): Promise<void>; stop(): void; onError: (e: unknown) => void}, signal: AbortSignal): Promise<void> {
  const app = ink.render(h(TopApp, {controller}), {exitOnCtrlC: false, patchConsole: false})
  let failure: unknown
  const quit = () => app.unmount()
  signal.addEventListener('abort', quit)
  controller.onError = (e) => {
    failure = e
    app.unmount()
  }
  void controller.start()
  try {
    await app.waitUntilExit()
  } finally {
    controller.stop()
    signal.removeEventListener('abort', quit)
  }
  if (failure) throw failure
}
