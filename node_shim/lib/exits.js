// @ts-check
// What an exit of the sidecar that nobody asked for means, and the words for it: once it has
// been ready, a crash is restarted with backoff until it crashes too often (a crash loop);
// before its first `ready`, nothing has changed for another start to go better, so the
// report says why it failed and what to fix (the errors it reported, an interpreter without
// wsside, a crash), and only a process killed from outside is started again. What it said
// before its first `ready` is kept here (BeforeReady) as the likely cause of such an exit.
// lib/sidecar.js runs the process and acts on these verdicts.

import { INTERPRETER_HELP, whyNoWsside } from './interpreter.js'

/** @import { SidecarEvent } from './protocol.js' */

// The plugin starts a sidecar when Vite (re)starts, not when an interpreter changes.
const START_AGAIN = '\n  Then save vite.config or restart Vite to start the sidecar again.'
const CRASH_WINDOW_MS = 30_000
const CRASH_LIMIT = 5
const BACKOFF_FIRST_MS = 250
const BACKOFF_MAX_MS = 5_000
// After a sidecar's exit, how long its output may take to end.
export const OUTPUT_DRAIN_MS = 1_000
// What Python says when the interpreter has no wsside (or only part of it).
const NO_WSSIDE = /No module named '?wsside\b/
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

/**
 * What one sidecar said before its first `ready`: the files with an error that stands, the
 * likely cause of an exit then (and, for a config error, why it does not serve yet), and
 * whether its output said that its interpreter has no wsside.
 */
export class BeforeReady {
  constructor() {
    // Until the first `ready`, an exit is a failure to start, which a restart cannot mend.
    this.everReady = false
    this._saidNoWsside = false
    /** @type {Map<string, 'config_error' | 'load_error'>} the files with an error that the
     * running process reported before its `ready`, and not fixed since */
    this._errors = new Map()
  }

  /** A process starts: what the one before it reported no longer stands. */
  spawned() {
    this._errors.clear()
  }

  /**
   * A line of the sidecar's output; true when it says that the interpreter has no wsside
   * (the report of the failed start says so, in words that say what to do).
   * @param {string} line
   */
  heard(line) {
    const noWsside = !this.everReady && NO_WSSIDE.test(line)
    if (noWsside) this._saidNoWsside = true
    return noWsside
  }

  /** The sidecar said `ready`. */
  ready() {
    this.everReady = true
    this._errors.clear()
  }

  /**
   * An event of a process that is not ready yet; true when it is a config error (which ends
   * the waits for `ready`: it serves only once the file is fixed).
   * @param {SidecarEvent} msg
   */
  note(msg) {
    if (msg.type === 'config_error' || msg.type === 'load_error') {
      this._errors.set(msg.file ?? '', msg.type)
      return msg.type === 'config_error'
    }
    if ('file' in msg && typeof msg.file === 'string') this._errors.delete(msg.file)
    return false
  }

  /**
   * The config file (its path; '' when not known) of a config error that stands, else null.
   * @returns {string | null}
   */
  get configError() {
    for (const [file, type] of this._errors) if (type === 'config_error') return file
    return null
  }

  /**
   * The record of an exit before `ready`, for failedToStart.
   * @param {Omit<StartExit, 'errors' | 'files' | 'saidNoWsside'>} how
   * @param {(file: string) => string} rel a file as the reader knows it
   * @returns {StartExit}
   */
  exit(how, rel) {
    const files = [...this._errors.keys()].filter(Boolean).map((file) => rel(file))
    return { ...how, errors: this._errors.size, files, saidNoWsside: this._saidNoWsside }
  }
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
