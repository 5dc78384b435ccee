// @ts-check
// What one sidecar said before its first `ready`: the files with an error that stands (a
// config error among them keeps it from serving until the file is fixed), and whether its
// output said that its interpreter has no wsside. lib/output.js feeds it the output and
// lib/sidecar.js the events; lib/exits.js reads it as the likely cause when the process ends
// before `ready`.

/** @import { SidecarEvent } from './protocol.js' */

// What Python says when the interpreter has no wsside (or only part of it).
const NO_WSSIDE = /No module named '?wsside\b/
// A line of wsside's own that reports an error (PROTOCOL.md): at the level `error`, or written
// before its logging was set up, as a start that cannot go on says why (`wsside: WSSIDE_JSON=...`).
const OWN_ERROR = /^wsside(?::error)?: /
// The most lines of them kept for the report of a failed start (a traceback is one per line).
const KEPT = 20

/** One per SidecarProcess, through its restarts: each new process starts with no errors. */
export class BeforeReady {
  constructor() {
    // Until the first `ready`, an exit is a failure to start, which a restart cannot mend.
    this.everReady = false
    this._saidNoWsside = false
    /** @type {Map<string, 'config_error' | 'load_error'>} the files with an error that the
     * running process reported before its `ready`, and not fixed since */
    this._errors = new Map()
    /** @type {string[]} the errors the running process wrote before its `ready`, in its words */
    this._errorLines = []
  }

  /** A process starts: what the one before it reported no longer stands. */
  spawned() {
    this._errors.clear()
    this._errorLines = []
  }

  /**
   * A line of the sidecar's output; true when it says that the interpreter has no wsside
   * (the report of the failed start says so, in words that say what to do).
   * @param {string} line
   */
  heard(line) {
    if (this.everReady) return false
    if (OWN_ERROR.test(line) && this._errorLines.length < KEPT) this._errorLines.push(line.replace(OWN_ERROR, ''))
    const noWsside = NO_WSSIDE.test(line)
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
   * What it said, for the report of an exit before `ready`: how many files have an error
   * that stands, those files as the reader knows them (`rel`), whether its output said
   * that the interpreter has no wsside, and the errors its output reported (`wsside: ...`).
   * @param {(file: string) => string} rel
   */
  said(rel) {
    const files = [...this._errors.keys()].filter(Boolean).map((file) => rel(file))
    return { errors: this._errors.size, files, saidNoWsside: this._saidNoWsside, errorLines: this._errorLines }
  }
}
