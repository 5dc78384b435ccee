// @ts-check
// What an exit of the sidecar that nobody asked for means, and the words for it: once it has
// been ready, a crash is restarted with backoff until it crashes too often (a crash loop);
// before its first `ready`, nothing has changed for another start to go better, so the
// report says why it failed and what to fix (the errors it reported, an interpreter without
// wsside, a crash), and only a process killed from outside is started again. What it said
// before its first `ready` (lib/before-ready.js) is the likely cause of such an exit.
// lib/sidecar.js runs the process and acts on these verdicts.

import { INTERPRETER_HELP, whyNoWsside } from './interpreter.js'

// The plugin starts a sidecar when Vite (re)starts, not when an interpreter changes.
const START_AGAIN = '\n  Then save vite.config or restart Vite to start the sidecar again.'
const CRASH_WINDOW_MS = 30_000
const CRASH_LIMIT = 5
const BACKOFF_FIRST_MS = 250
const BACKOFF_MAX_MS = 5_000
// After a sidecar's exit, how long its output may take to end.
export const OUTPUT_DRAIN_MS = 1_000
// Signals of a process that crashed by itself (faulthandler prints the Python stack for
// them); any other signal came from outside.
const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT'])

/**
 * A sidecar that ended before its first `ready`, and what it said before.
 * @typedef {object} StartExit
 * @property {number | undefined} pid
 * @property {number | null} code
 * @property {NodeJS.Signals | null} signal
 * @property {string} python
 * @property {string} chosenBy how the interpreter rule chose `python`, in words
 * @property {string} cwd
 * @property {number} errors how many files reported an error that stands
 * @property {string[]} files those files, as the reader knows them
 * @property {boolean} saidNoWsside whether its output said the interpreter has no wsside
 */

/**
 * What to do after a crash: start again in `restartIn` ms (`report` says so), or `stop`
 * (the reason, for the terminal and the overlay).
 * @typedef {{ restartIn: number, report: string } | { stop: string }} CrashVerdict
 */

/**
 * The sentence for an interpreter that is not there.
 * @param {string} python
 * @param {string} chosenBy
 */
export function pythonNotFound(python, chosenBy) {
  return `cannot start the Python sidecar: ${python} was not found (chosen by ${chosenBy}).` +
    INTERPRETER_HELP + START_AGAIN
}

/**
 * @param {number | null} code
 * @param {NodeJS.Signals | null} signal
 */
export function exitHow(code, signal) {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`
}

/** The crashes of one sidecar: the backoff before each restart, and the limit. */
export class CrashLoop {
  constructor() {
    /** @type {number[]} when each crash within CRASH_WINDOW_MS happened */
    this._crashes = []
  }

  /**
   * The sidecar (`pid`) ended unasked (`how`): restart it with backoff, unless it has
   * crashed CRASH_LIMIT times within CRASH_WINDOW_MS.
   * @param {number | undefined} pid
   * @param {string} how
   * @returns {CrashVerdict}
   */
  crashed(pid, how) {
    const now = Date.now()
    this._crashes = [...this._crashes.filter((t) => now - t < CRASH_WINDOW_MS), now]
    if (this._crashes.length >= CRASH_LIMIT) {
      return { stop: `the sidecar (pid ${pid}) ${how}: ${CRASH_LIMIT} crashes within ` +
        `${CRASH_WINDOW_MS / 1000} s, so it is not restarted. Fix the error above, then save ` +
        'vite.config or restart Vite.' }
    }
    const delay = Math.min(BACKOFF_FIRST_MS * 2 ** (this._crashes.length - 1), BACKOFF_MAX_MS)
    return { restartIn: delay, report: `the sidecar (pid ${pid}) ${how}; restarting in ${delay} ms` }
  }
}

/**
 * One clear report for a sidecar that never became ready, through `fail` (maybe after asking
 * the interpreter why it has no wsside); a process killed from outside goes to `crashed`.
 * @param {StartExit} exit
 * @param {{ crashed: (how: string) => void, fail: (reason: string) => void }} then
 */
export function failedToStart(exit, { crashed, fail }) {
  const { pid, code, signal, python, chosenBy, errors, files } = exit
  const how = `the Python sidecar (pid ${pid}) ${exitHow(code, signal)} before it was ready`
  if (signal !== null && !CRASH_SIGNALS.has(signal)) {
    // Killed from outside (a person, the out-of-memory killer), nothing about the setup: a
    // new start may well go through, as after a crash once ready (same limit).
    crashed(`${exitHow(code, signal)} before it was ready`)
  } else if (signal !== null) {
    fail(`${how}: it crashed, so it is not restarted. The Python stack above says where ` +
      '(often in a C extension that a handler file imports).\n  Fix the cause, then save vite.config or restart Vite.')
  } else if (errors > 0) {
    // It said what is wrong: which interpreter ran it is beside the point.
    const [these, them] = errors > 1 ? ['errors', 'them'] : ['error', 'it']
    fail(`${how}, because of the ${these} ${files.length ? `in ${files.join(', ')} ` : ''}above, so it is ` +
      `not restarted.\n  Fix ${them}, then save vite.config or restart Vite to start the sidecar again.`)
  } else if (exit.saidNoWsside) {
    whyNoWsside(python, exit.cwd, OUTPUT_DRAIN_MS, (why) => {
      fail(`cannot start the Python sidecar: ${python} (chosen by ${chosenBy})${why}` +
        INTERPRETER_HELP + START_AGAIN)
    })
  } else {
    fail(`${how}, so it is not restarted: see its output above.\n  It ran ${python} (chosen by ${chosenBy}).` +
      `${INTERPRETER_HELP}\n  Fix the cause, then save vite.config or restart Vite.`)
  }
}
