// @ts-check
// The output of one sidecar process, line by line: shown in Vite's terminal (lib/report.js
// tells wsside's own lines, by the process's mark, from the rest), read by lib/before-ready.js
// for the cause of a failed start, and the last lines of its stderr kept for the report of a
// crash loop (lib/last-error.js). lib/sidecar.js reads each process's output here.

import readline from 'node:readline'
import { ownLines } from './report.js'

/** @import { ChildProcess } from 'node:child_process' */
/** @import { Socket } from 'node:net' */
/** @import { OwnLine } from './report.js' */
/** @import { SidecarProcess } from './sidecar.js' */

// The lines of a process's stderr kept for the report of a crash loop (a traceback is one
// line per frame and one per source line), and the most characters kept of each.
const STDERR_KEPT = 40
const STDERR_LINE_MAX = 500

/**
 * Reads the stdout and stderr of `child`, a process of `proc` whose own lines start with
 * `mark` (`_edge/logs.py`): each line goes to the terminal of the newest Vite server holding
 * `proc`, or only to its debug log when it is what the report of a failed start explains.
 * Returns the last lines (at most STDERR_KEPT) of its stderr that are not wsside's own,
 * filled as they come.
 * @param {SidecarProcess} proc
 * @param {ChildProcess} child
 * @param {string} mark
 * @returns {string[]}
 */
export function readOutput(proc, child, mark) {
  const own = ownLines(mark)
  /** @type {string[]} */
  const tail = []
  for (const stream of [child.stdout, child.stderr]) {
    // With stdio 'pipe' both exist, and are sockets.
    readline.createInterface({ input: /** @type {Socket} */ (stream) }).on('line', (line) => {
      const said = own(line)
      if (stream === child.stderr && said === null) keep(tail, line)
      // Python's "No module named wsside" is what the report of the failed start explains.
      if (proc.beforeReady.heard(unmarked(line, said))) proc.reporter.debug(`py: ${line}`)
      else proc.reporter.output(line, said)
    })
  }
  return tail
}

/**
 * Adds `line` to `tail`, the last STDERR_KEPT lines of a process's stderr, each cut at
 * STDERR_LINE_MAX characters: a process that writes without end keeps no more.
 * @param {string[]} tail
 * @param {string} line
 */
function keep(tail, line) {
  tail.push(line.length > STDERR_LINE_MAX ? `${line.slice(0, STDERR_LINE_MAX)}…` : line)
  if (tail.length > STDERR_KEPT) tail.shift()
}

/**
 * A line as lib/before-ready.js reads it: one of wsside's own (`said`) as it reads wsside's
 * lines, without the mark (`wsside:error: text`, `wsside: text`); any other as a line of
 * Python's, `py: ` and the line, which it never takes for an error wsside reported.
 * @param {string} line
 * @param {OwnLine | null} said
 */
function unmarked(line, said) {
  if (said === null) return `py: ${line}`
  return `wsside${said.level === undefined ? '' : `:${said.level}`}: ${said.text}`
}
