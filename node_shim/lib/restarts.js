// @ts-check
// How a sidecar that ended unasked once ready is started again (lib/exits.js decides which
// way it ended), and what the report says when it ends in a loop. Stops from outside (`kill
// PID`: exit 0 or SIGTERM) start it again at once and are counted apart from crashes, which
// back off; either kind too often within CRASH_WINDOW_MS fails it.

/** @import { ChildProcess } from 'node:child_process' */

export const CRASH_WINDOW_MS = 30_000
const CRASH_LIMIT = 5
// Stops from outside within CRASH_WINDOW_MS: far more than a person's `kill PID` after edits.
const STOP_LIMIT = 10
const BACKOFF_FIRST_MS = 250
const BACKOFF_MAX_MS = 5_000
// Signals of a process that crashed by itself (faulthandler prints the Python stack for
// them); any other signal came from outside.
export const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT'])
// After a sidecar's exit, how long its output may take to end.
export const OUTPUT_DRAIN_MS = 1_000
// After a failure that a project file may fix: saving one starts it again (startAgain).
export const ON_SAVE = 'the next save of a .py file of the project (or of wsside.toml, pyproject.toml or vite.config) starts the sidecar again'

export class Restarts {
  constructor() {
    /** @type {{ at: number, signal: NodeJS.Signals | null }[]} each crash within CRASH_WINDOW_MS */
    this._crashes = []
    /** @type {{ at: number, how: string }[]} each stop from outside within CRASH_WINDOW_MS */
    this._stops = []
  }

  /** A fresh start (a save that may fix it): nothing counted before weighs on it. */
  clear() {
    this._crashes = []
    this._stops = []
  }

  /**
   * A stop from outside (`how`: `exit 0` or `SIGTERM`): true to start it again at once,
   * false when this is the STOP_LIMIT-th within the window (then `stopLoop` says so).
   * @param {string} how
   */
  stopped(how) {
    const now = Date.now()
    this._stops = [...this._stops.filter((s) => now - s.at < CRASH_WINDOW_MS), { at: now, how }]
    return this._stops.length < STOP_LIMIT
  }

  /**
   * A crash (`signal`: what ended it, if a signal did): the delay before the next start, or
   * null when this is the CRASH_LIMIT-th within the window (then `crashLoop` says so).
   * @param {NodeJS.Signals | null} signal
   */
  crashed(signal) {
    const now = Date.now()
    this._crashes = [...this._crashes.filter((c) => now - c.at < CRASH_WINDOW_MS), { at: now, signal }]
    if (this._crashes.length >= CRASH_LIMIT) return null
    return Math.min(BACKOFF_FIRST_MS * 2 ** (this._crashes.length - 1), BACKOFF_MAX_MS)
  }

  /**
   * The report of too many stops from outside.
   * @param {number | undefined} pid
   * @param {string} quoted the line quoting the last error it wrote to stderr, or ''
   */
  stopLoop(pid, quoted) {
    const hows = [...new Set(this._stops.map((s) => s.how))].join(' or ')
    return `the sidecar (pid ${pid}) was stopped (${hows}) ${STOP_LIMIT} times within ${CRASH_WINDOW_MS / 1000} s, so ` +
      'it is not restarted: that many is no kill PID after an edit, but something that ends it: sys.exit(0) or ' +
      `os._exit(0) in a handler file, a callback or a library it calls, or a script sending SIGTERM.${quoted}\n  ` +
      `Find what ends it: ${ON_SAVE}.`
  }

  /**
   * The report of a crash loop: signals from outside each time (kill -9, the out-of-memory
   * killer) are named as such; otherwise the error to fix.
   * @param {number | undefined} pid
   * @param {string} how how the last one ended (`exited with code 1`)
   * @param {string} importing ` while importing <file>`, or ''
   * @param {string} quoted the line quoting the last error it wrote to stderr, or ''
   * @param {boolean} traceback whether what it wrote last was a traceback
   */
  crashLoop(pid, how, importing, quoted, traceback) {
    const signals = [...new Set(this._crashes.map((c) => c.signal))]
    if (signals.every((s) => s !== null && !CRASH_SIGNALS.has(s))) {
      return `the sidecar (pid ${pid}) was killed by ${signals.join(' or ')} ${CRASH_LIMIT} times within ` +
        `${CRASH_WINDOW_MS / 1000} s${importing && `, the last${importing}`}, from outside the process (kill -9, or ` +
        "the system's out-of-memory killer: `dmesg` or `journalctl -k` says which), so it is not restarted." +
        `${quoted}\n  Once nothing kills it, ${ON_SAVE}.`
    }
    const what = importing ? 'that file' : traceback ? 'that error' : 'the error above'
    return `the sidecar (pid ${pid}) ${how}${importing}: ${CRASH_LIMIT} crashes within ${CRASH_WINDOW_MS / 1000} s, ` +
      `so it is not restarted.${quoted}\n  Fix ${what}: ${ON_SAVE}.`
  }
}

/**
 * Calls `then` once the output of `child`, which has exited, has ended: its last words may
 * still be on their way. Bounded by OUTPUT_DRAIN_MS, as a process it started could hold the
 * pipes open.
 * @param {ChildProcess} child
 * @param {() => void} then
 */
export function afterOutput(child, then) {
  let done = false
  const once = () => {
    if (done) return
    done = true
    clearTimeout(timer)
    then()
  }
  const timer = setTimeout(once, OUTPUT_DRAIN_MS).unref()
  child.once('close', once)
}
