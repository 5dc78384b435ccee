// @ts-check
// Every way a sidecar process ends, and what the shim does then, for one SidecarProcess
// (lib/sidecar.js spawns each process and hands it to Exits.watch):
//
// - Vite closes (server.close(): its `q` shortcut, SIGTERM, the end of its stdin) or restarts
//   (a vite.config edit: its old HTTP server closes), or attachWsside's close() is called: the
//   server lets go of the sidecar (lib/attach.js; server.close() does so first, while the
//   clients' sockets are still open). After a restart the new server already holds the same
//   sidecar, which goes on (lib/sidecars.js). When no server holds it, stop(): it closes every
//   client with 1001 Going Away and exits, or is killed after 7 s; one not ready yet is
//   killed at once. Never restarted.
// - Ctrl-C, or Vite killed: nothing here runs. The sidecar ignores SIGINT, sees its IPC
//   channel end, closes its clients with 1001 and exits (PROTOCOL.md, `_edge/shim_mode.py`).
// - It is stopped from outside once it has been ready (`kill PID`: exit 0, or SIGTERM),
//   outside a handler file's import: started again at once, no crash; the 10th stop within
//   30 s is a process that ends itself (a handler's os._exit(0)), and fails it.
// - It exits otherwise after it has once been ready (a later process too, before its own
//   `ready`): restarted after 250 ms, doubling up to 5 s, until it ends for the 5th time
//   within 30 s (a crash loop), which fails it; the report quotes the last error that
//   process wrote to stderr (lib/sidecar.js keeps the tail), or says that signals from
//   outside killed it (kill -9, the out-of-memory killer).
// - It exits before its first `ready`: nothing has changed for another start to go better,
//   so it fails, the report saying why from what it said before (lib/before-ready.js: the
//   errors it reported, as events or in its output, an interpreter without wsside), or that
//   it crashed by a signal; the interpreter is named only when it said nothing of the cause.
//   Only a process killed from outside (another signal) is started again, as after a crash.
// - The interpreter cannot be spawned (not there, a folder, not executable; its words, and
//   those of an interpreter without wsside: lib/cannot-start.js), or the sidecar breaks the
//   control protocol (lib/sidecar.js): it fails.
// - It speaks another version of the control protocol (a wsside of another release than the
//   plugin: mismatch()): it fails, naming both versions; installing a matching wsside changes
//   no project file, so the report says what starts it again, and a save of a .py file does;
//   after installing another plugin only a restart of Vite helps (Node keeps the plugin it
//   loaded: a save of vite.config restarts Vite's server, not Node).
// A sidecar that fails is killed, its reason stays in the terminal and on the overlay, and it
// is not restarted: saving vite.config or restarting Vite gives it a fresh start
// (lib/sidecars.js); so does saving a file of the project that a handler file's fix is in
// (lib/attach.js: a .py file, wsside.toml, pyproject.toml), unless what failed was the
// interpreter or the environment, which no such file changes.

import { execFile } from 'node:child_process'
import path from 'node:path'
import { cannotSpawn, noWsside } from './cannot-start.js'
import { lastError } from './last-error.js'
import { INTERPRETER_HELP } from './interpreter.js'
import { whyNoWsside } from './why-no-wsside.js'
import { message, mismatchMessage } from './protocol.js'
import { afterOutput, CRASH_SIGNALS, ON_SAVE, OUTPUT_DRAIN_MS, Restarts } from './restarts.js'

/** @import { ChildProcess } from 'node:child_process' */
/** @import { ProtocolMismatch } from './protocol.js' */
/** @import { SidecarProcess } from './sidecar.js' */

const SHUTDOWN_WAIT_MS = 7_000
// Asked of the interpreter when a mismatched message did not say its wsside version.
const WSSIDE_VERSION_PROBE = 'import wsside; print(wsside.__version__)'
const VERSION_PROBE_MS = 5_000

/** The ends of the processes of one SidecarProcess, and what follows each. */
export class Exits {
  /** @param {SidecarProcess} proc */
  constructor(proc) {
    this._proc = proc
    this._restarts = new Restarts()
    /** @type {NodeJS.Timeout | undefined} */
    this._restartTimer = undefined
    /** @type {Promise<void> | null} once stop() was called: settled when the process has gone */
    this.stopping = null
    // It failed in a way a saved project file may fix (see startAgain).
    this._fixableBySave = false
  }

  /**
   * Watches `child`, the process just spawned, for its end.
   * @param {ChildProcess} child
   */
  watch(child) {
    const proc = this._proc
    child.on('error', (/** @type {NodeJS.ErrnoException} */ err) => {
      // Only a spawn that failed means the interpreter cannot run (a failed kill or send is
      // an error of a process that runs).
      if (!err.syscall?.startsWith('spawn')) {
        proc.reporter.error(`sidecar process error: ${err.message}`)
        return
      }
      this.fail(cannotSpawn(proc.spec.python, proc.spec.chosenBy, err))
    })
    child.on('exit', (code, signal) => this._exited(child, code, signal))
  }

  /**
   * Stops the sidecar for good (no server holds it any more): it closes every client with
   * 1001 Going Away, then exits.
   * @returns {Promise<void>}
   */
  stop() {
    if (this.stopping) return this.stopping
    clearTimeout(this._restartTimer)
    const proc = this._proc
    const child = proc.child
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      proc.settle('stopped')
      return (this.stopping = Promise.resolve())
    }
    this.stopping = new Promise((/** @type {(value?: undefined) => void} */ resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_WAIT_MS)
      child.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      // Before `ready` there are no clients to say goodbye to, and a sidecar stuck in a
      // handler's import could not read the message anyway.
      if (proc.state !== 'ready' || !child.connected) child.kill('SIGKILL')
      else child.send(message('shutdown'), (err) => err && child.kill('SIGTERM'))
    })
    return this.stopping
  }

  /**
   * Gives up on the sidecar until a fresh start: `reason` in the terminal and on the overlay,
   * the process killed, no restart.
   * @param {string} reason
   * @param {string} [shown] what the overlay shows, when it must say more than the terminal
   * (what the terminal printed above `reason`)
   * @param {{ fixableBySave?: boolean }} [how] `fixableBySave`: a saved project file may be
   * the fix (a handler file that crashed the process), unlike an interpreter that cannot run
   */
  fail(reason, shown = reason, { fixableBySave = false } = {}) {
    if (this._proc.state === 'failed') return
    this._giveUp()
    this._tell(reason, shown, fixableBySave)
  }

  /**
   * The sidecar speaks another version of the control protocol (`mismatch`): it fails, and
   * the report names both packages' versions, asking the interpreter for its wsside version
   * when the message did not say it. Installing a matching wsside changes no project file,
   * but the user saves one after it: a save starts the sidecar again (startAgain). Installing
   * a matching plugin needs a restart of Vite, whose Node keeps the plugin it loaded.
   * @param {ProtocolMismatch} mismatch
   */
  mismatch(mismatch) {
    const proc = this._proc
    if (proc.state === 'failed') return
    this._giveUp()
    const tell = (/** @type {string | null} */ version) => {
      // Stopped meanwhile, or already started again by something else.
      if (this.stopping || proc.state !== 'failed' || this._fixableBySave) return
      this._tell(`${mismatchMessage(mismatch.theirs, version, proc.spec.python)}\n  After the pip install, ${ON_SAVE} ` +
        '(so does restarting Vite). After the npm install, restart Vite: Node keeps the plugin it loaded until then ' +
        '(saving vite.config does not reload it).', undefined, true)
    }
    if (mismatch.version !== null) {
      tell(mismatch.version)
      return
    }
    const { python, cwd, env } = proc.spec
    execFile(python, ['-c', WSSIDE_VERSION_PROBE], { cwd, env: { ...process.env, ...env }, timeout: VERSION_PROBE_MS },
      (err, stdout) => tell(err ? null : stdout.trim().split('\n').at(-1)?.trim() || null))
  }

  /** The sidecar fails: its waits end, its process is killed, and it is not restarted. */
  _giveUp() {
    const proc = this._proc
    this._fixableBySave = false
    proc.settle('failed')
    if (proc.child && proc.child.exitCode === null) proc.child.kill('SIGKILL')
  }

  /**
   * Why it failed: in the terminal and on the overlay (`shown`, when that says more).
   * @param {string} reason
   * @param {string | undefined} shown
   * @param {boolean} fixableBySave
   */
  _tell(reason, shown = reason, fixableBySave) {
    const proc = this._proc
    this._fixableBySave = fixableBySave
    proc.reporter.error(reason)
    proc.standing.stand('sidecar', '', { message: shown })
  }

  /**
   * A project file was saved (`file`, as the terminal names it): a sidecar that failed in a
   * way such a file may fix starts again, with a fresh crash count, as after a vite.config
   * save.
   * @param {string} file
   */
  startAgain(file) {
    const proc = this._proc
    if (proc.state !== 'failed' || !this._fixableBySave || this.stopping) return
    this._restarts.clear()
    proc.reporter.info(`${file} changed: starting the sidecar again`)
    proc.spawn()
  }

  /**
   * A process ended: asked to (stop), given up on (fail), after a `ready` (restart) or before
   * any (the report of a failed start).
   * @param {ChildProcess} child
   * @param {number | null} code
   * @param {NodeJS.Signals | null} signal
   */
  _exited(child, code, signal) {
    const proc = this._proc
    if (child !== proc.child) return
    // A handler file being imported when the process ended is the likely cause (its import
    // exited, or crashed in a C extension), and nothing else may name it.
    const importing = proc.importing === null ? '' : ` while importing ${proc.reporter.rel(proc.importing)}`
    proc.forgetProcess()
    if (this.stopping) {
      proc.settle('stopped')
      return
    }
    if (proc.state === 'failed') return
    if (proc.beforeReady.everReady) {
      // A handler file that exits at import is no stop from outside, whatever its code.
      if (!importing && (code === 0 || signal === 'SIGTERM')) this._restartAfterStop(child, code === 0 ? 'exit 0' : 'SIGTERM')
      else this._restartAfterCrash(child, signal, exitHow(code, signal), importing, false)
      return
    }
    // Its last words may still be on their way: decide once its output has ended.
    afterOutput(child, () => this._failedToStart(child, code, signal, importing))
  }

  /**
   * A process that never became ready ended: one clear report (maybe after asking the
   * interpreter why it has no wsside), and no restart unless it was killed from outside.
   * @param {ChildProcess} child
   * @param {number | null} code
   * @param {NodeJS.Signals | null} signal
   * @param {string} importing ` while importing <file>`, or ''
   */
  _failedToStart(child, code, signal, importing) {
    if (this.stopping) return
    const proc = this._proc
    const { python, chosenBy, cwd } = proc.spec
    const { errors, files, saidNoWsside, errorLines } = proc.beforeReady.said((file) => proc.reporter.rel(file))
    const how = `the Python sidecar (pid ${child.pid}) ${exitHow(code, signal)}${importing} before it was ready`
    if (signal !== null && !CRASH_SIGNALS.has(signal)) {
      // Killed from outside (a person, the out-of-memory killer), nothing about the setup: a
      // new start may well go through, as after a crash once ready (same limit).
      this._restartAfterCrash(child, signal, `${exitHow(code, signal)} before it was ready`, '', true)
    } else if (signal !== null) {
      this.fail(`${how}: it crashed, so it is not restarted. The Python stack above says where ` +
        `(often in a C extension that a handler file imports).\n  Fix the cause: ${ON_SAVE}.`, undefined,
      { fixableBySave: true })
    } else if (errors > 0) {
      // It said what is wrong: which interpreter ran it is beside the point.
      const [these, them] = errors > 1 ? ['errors', 'them'] : ['error', 'it']
      this.fail(`${how}, because of the ${these} ${files.length ? `in ${files.join(', ')} ` : ''}above, so it is ` +
        `not restarted.\n  Fix ${them}: ${ON_SAVE}.`, undefined, { fixableBySave: true })
    } else if (saidNoWsside) {
      const handlers = proc.spec.given.handlers ? path.resolve(cwd, proc.spec.given.handlers) : null
      whyNoWsside(python, cwd, OUTPUT_DRAIN_MS, (why) => {
        if (!this.stopping) this.fail(noWsside(python, chosenBy, why))
      }, undefined, undefined, handlers)
    } else if (importing) {
      // The file is the lead, not the interpreter.
      this.fail(`${how}, so it is not restarted: that file (or what it imports) ended the process.\n  ` +
        `Fix it: ${ON_SAVE}.`, undefined, { fixableBySave: true })
    } else if (errorLines.length > 0) {
      // It said why in its output (a bad WSSIDE_JSON, say): the interpreter ran it well enough.
      const reason = `${how}, because of the error it reported above, so it is not restarted.\n  Fix it, ` +
        'then save vite.config or restart Vite to start the sidecar again.'
      this.fail(reason, `${errorLines.join('\n')}\n\n${reason}`)
    } else {
      this.fail(`${how}, so it is not restarted: see its output above.\n  It ran ${python} (chosen by ${chosenBy}).` +
        `${INTERPRETER_HELP}\n  Fix the cause, then save vite.config or restart Vite.`)
    }
  }

  /**
   * Starts the sidecar again at once after `child` was stopped from outside (`how`: `exit 0`
   * or `SIGTERM`), unless such stops come in a loop (lib/restarts.js): then it fails.
   * @param {ChildProcess} child
   * @param {string} how
   */
  _restartAfterStop(child, how) {
    if (!this._restarts.stopped(how)) {
      this._failAfterOutput(child, false, (quoted) => this._restarts.stopLoop(child.pid, quoted))
      return
    }
    this._proc.reporter.info(`the sidecar (pid ${child.pid}) was stopped (${how}, as after kill PID): starting it again`)
    this._proc.settle('starting')
    // On the next turn, as a timer stop() clears: Vite may be stopping by the same signal
    // (a process group's SIGTERM), its close not yet heard.
    this._restartTimer = setTimeout(() => this._proc.spawn(), 0)
  }

  /**
   * Starts the sidecar again after `child` ended unasked, with backoff, unless it ends in a
   * crash loop (lib/restarts.js): then it fails, saying that it was killed from outside each
   * time, or which error to fix.
   * @param {ChildProcess} child
   * @param {NodeJS.Signals | null} signal the signal that ended it, if any
   * @param {string} how how it ended, for the report
   * @param {string} importing ` while importing <file>`, or ''
   * @param {boolean} drained whether its output has ended already
   */
  _restartAfterCrash(child, signal, how, importing, drained) {
    const proc = this._proc
    const delay = this._restarts.crashed(signal)
    if (delay === null) {
      this._failAfterOutput(child, drained, (quoted, said) =>
        this._restarts.crashLoop(child.pid, how, importing, quoted, Boolean(said?.traceback)))
      return
    }
    proc.reporter.error(`the sidecar (pid ${child.pid}) ${how}${importing}; restarting in ${delay} ms`)
    proc.settle('starting')
    this._restartTimer = setTimeout(() => proc.spawn(), delay)
  }

  /**
   * Fails the sidecar that ended in a loop once `child`'s output has ended (`drained`: it
   * has), with the report `reason` makes: `quoted` is the line quoting the last error it wrote
   * to stderr, or ''. The overlay shows that error's lines above it, as it shows no terminal.
   * @param {ChildProcess} child
   * @param {boolean} drained
   * @param {(quoted: string, said: ReturnType<typeof lastError>) => string} reason
   */
  _failAfterOutput(child, drained, reason) {
    const proc = this._proc
    const give = () => {
      // Stopped meanwhile, or failed for another reason.
      if (this.stopping || proc.state === 'failed') return
      const said = lastError(proc.stderrTail(child), (file) => proc.reporter.rel(file))
      const text = reason(said ? `\n  The last ${said.traceback ? 'error' : 'line'} it wrote to stderr: ${said.cause}` : '', said)
      this.fail(text, said ? `${said.lines.join('\n')}\n\n${text}` : text, { fixableBySave: true })
    }
    if (drained) give()
    else afterOutput(child, give)
  }
}

/**
 * @param {number | null} code
 * @param {NodeJS.Signals | null} signal
 */
function exitHow(code, signal) {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`
}
