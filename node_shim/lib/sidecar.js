// @ts-check
// The Python sidecar process: spawned once per Vite process and configuration, spoken to
// over Node's IPC channel, waited for (`ready`), stopped. What an exit nobody asked for
// means (a restart with backoff, or a report of why it cannot run) is lib/exits.js's to say.
// The Vite servers of one configuration share it through lib/sidecars.js.

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { BeforeReady } from './before-ready.js'
import { CrashLoop, exitHow, failedToStart, OUTPUT_DRAIN_MS, pythonNotFound } from './exits.js'
import { message, parse } from './protocol.js'
import { showEvent } from './events.js'
import { readyLines, StandingErrors } from './report.js'
import { syncTypesFile } from './types-file.js'

/** @import { ChildProcess } from 'node:child_process' */
/** @import { Socket } from 'node:net' */
/** @import { HandlerInfo, ReadyMessage, SidecarEvent } from './protocol.js' */
/** @import { Reporter } from './report.js' */

/**
 * How to run one sidecar; `key` tells configurations apart (one sidecar per key).
 * @typedef {object} SidecarSpec
 * @property {string} key
 * @property {string} python
 * @property {string} rule the interpreter rule that chose `python`
 * @property {string} chosenBy how that rule chose it, in words
 * @property {string[]} args
 * @property {string} cwd
 * @property {Record<string, string>} env
 */

const SHUTDOWN_WAIT_MS = 7_000

export class SidecarProcess {
  /** @param {SidecarSpec} spec */
  constructor(spec) {
    this.spec = spec
    // Per run, ≥128 bits; it only travels in the child's environment and in request heads
    // on the private Unix socket, never in a URL or a log line.
    this.secret = randomBytes(32).toString('base64url')
    /** @type {'starting' | 'ready' | 'failed' | 'stopped'} */
    this.state = 'starting'
    /** @type {ReadyMessage | null} the last `ready` message */
    this.info = null
    /** @type {HandlerInfo[] | null} the endpoints a process served last (reloads included) */
    this._servedBefore = null
    /** @type {ChildProcess | null} */
    this.child = null
    this.refs = 0
    /** @type {Reporter[]} one per Vite server holding this sidecar, the newest last */
    this.reporters = []
    this._beforeReady = new BeforeReady()
    this._crashes = new CrashLoop()
    /** @type {Set<() => void>} */
    this._waiters = new Set()
    /** @type {NodeJS.Timeout | undefined} */
    this._restartTimer = undefined
    /** @type {Promise<void> | null} */
    this._stopping = null
    this._standing = new StandingErrors(() => this.reporter)
    // Whether a server holding it has listened: the process starts then (see start()).
    this._serverListened = false
  }

  /**
   * Reports to `reporter` (a Vite server's) from now on, and shows the errors that stand
   * to each page that connects to it.
   * @param {Reporter} reporter
   */
  addReporter(reporter) {
    this.reporters.push(reporter)
    this._standing.showToNewPages(reporter)
  }

  /** @returns {Reporter} */
  get reporter() {
    // acquireSidecar (sidecars.js) adds a reporter before anything can report.
    return /** @type {Reporter} */ (this.reporters.at(-1))
  }

  /**
   * A server holding this sidecar listens now: the first time, the process starts. Vite calls
   * the plugin before it binds its port, and a Vite that never listens would spawn a sidecar
   * for nothing: on Vite 8.4 a second `vite` of the project, refused by Vite's lock, killed
   * it at once; a Vite whose port is taken (strictPort) exits without closing, and left it
   * to run the handlers' imports after Vite had gone.
   */
  serverListening() {
    if (this._serverListened) return
    this._serverListened = true
    if (!this._stopping) this._spawn()
  }

  _spawn() {
    const { python, rule, args, cwd, env } = this.spec
    this.state = 'starting'
    this._beforeReady.spawned()
    this.reporter.debug(`starting ${python} (interpreter rule: ${rule}) in ${cwd}`)
    const child = spawn(python, args, {
      cwd,
      env: { ...process.env, ...env, PYTHONUNBUFFERED: '1', WSSIDE_SECRET: this.secret },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      windowsHide: true,
    })
    this.child = child
    // The sidecar must never keep Vite's process alive; it exits by itself on EOF.
    child.unref()
    child.channel?.unref()
    for (const stream of [child.stdout, child.stderr]) {
      // With stdio 'pipe' both exist, and are sockets (which can be unref'd).
      /** @type {Socket} */ (stream).unref()
      readline.createInterface({ input: /** @type {Socket} */ (stream) }).on('line', (line) => {
        // Python's "No module named wsside" is what the report of the failed start explains.
        if (this._beforeReady.heard(line)) this.reporter.debug(`py: ${line}`)
        else this.reporter.output(line)
      })
    }
    child.on('message', (msg) => this._onMessage(child, msg))
    child.on('error', (/** @type {NodeJS.ErrnoException} */ err) => {
      if (err.code === 'ENOENT') {
        this._fail(pythonNotFound(python, this.spec.chosenBy))
      } else {
        this.reporter.error(`sidecar process error: ${err.message}`)
      }
    })
    child.on('exit', (code, signal) => this._onExit(child, code, signal))
  }

  /**
   * The `ready` message when the sidecar can take connections now (and it is not `stale`), else null.
   * @param {ReadyMessage | null} [stale]
   */
  readyInfo(stale = null) {
    return this.state === 'ready' && this.info !== stale ? this.info : null
  }

  /**
   * The config file (its path; '' when not known) whose error keeps the running process from
   * its `ready`: it serves once the file is fixed. Null when no config error holds it back.
   * @returns {string | null}
   */
  get waitsForConfigFix() {
    return this.state === 'starting' ? this._beforeReady.configError : null
  }

  /**
   * The `ready` info once the sidecar serves, or null after `ms` or when it cannot serve
   * without a change: it failed, was stopped, or waits for its config to be fixed.
   * `stale`: a `ready` info that turned out dead (its process is exiting): wait for the next.
   * @param {number} ms
   * @param {ReadyMessage | null} [stale]
   * @returns {Promise<ReadyMessage | null>}
   */
  whenReady(ms, stale = null) {
    const usable = () => this.readyInfo(stale) !== null
    const hopeless = () => this.state === 'failed' || this.state === 'stopped' || this.waitsForConfigFix !== null
    if (usable()) return Promise.resolve(this.info)
    if (hopeless()) return Promise.resolve(null)
    return new Promise((resolve) => {
      /** @param {ReadyMessage | null} info */
      const done = (info) => {
        clearTimeout(timer)
        this._waiters.delete(waiter)
        resolve(info)
      }
      const waiter = () => {
        if (usable()) done(this.info)
        else if (hopeless()) done(null)
      }
      const timer = setTimeout(() => done(null), ms)
      this._waiters.add(waiter)
    })
  }

  /** Stops the sidecar: it closes every client with 1001 Going Away, then exits. */
  shutdown() {
    if (this._stopping) return this._stopping
    clearTimeout(this._restartTimer)
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this._settle('stopped')
      return (this._stopping = Promise.resolve())
    }
    this._stopping = new Promise((/** @type {(value?: undefined) => void} */ resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_WAIT_MS)
      child.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      // Before `ready` there are no clients to say goodbye to, and a sidecar stuck in a
      // handler's import could not read the message anyway.
      if (this.state !== 'ready' || !child.connected) child.kill('SIGKILL')
      else child.send(message('shutdown'), (err) => err && child.kill('SIGTERM'))
    })
    return this._stopping
  }

  /** @param {'starting' | 'ready' | 'failed' | 'stopped'} state */
  _settle(state) {
    this.state = state
    this._wakeWaiters()
  }

  _wakeWaiters() {
    for (const waiter of [...this._waiters]) waiter()
  }

  /** @param {string} reason */
  _fail(reason) {
    if (this.state === 'failed') return
    this._settle('failed')
    this.reporter.error(reason)
    this._standing.stand('sidecar', '', { message: reason })
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL')
  }

  /**
   * @param {ChildProcess} child
   * @param {unknown} raw
   */
  _onMessage(child, raw) {
    let envelope
    try {
      envelope = parse(raw)
    } catch (err) {
      this._fail(/** @type {Error} */ (err).message)
      return
    }
    if (envelope === null || child !== this.child) return
    // Our own sidecar of our protocol version: its `type` says the shape (PROTOCOL.md).
    const msg = /** @type {SidecarEvent} */ (envelope)
    if (msg.type === 'ready') {
      // A restart in the process (a config change) sends `ready` again: the table before it.
      const before = this.info?.handlers ?? this._servedBefore
      this.info = msg
      this._beforeReady.ready()
      this._settle('ready')
      // Its settings are valid now, whatever error an earlier edit of the config had.
      this._standing.fixedAll('config')
      const r = this.reporter
      r.info(`sidecar ready: pid ${msg.pid}, wsside ${msg.version}, ${msg.python}`)
      for (const line of readyLines(r, msg.handlers, before)) r.info(`  ${line}`)
      syncTypesFile(this.spec.cwd, msg.types, r)
    } else if (msg.type === 'protocol_error') {
      this._fail(msg.message)
    } else {
      if (this.state === 'starting' && this._beforeReady.note(msg)) this._wakeWaiters()
      showEvent(msg, { reporter: this.reporter, standing: this._standing, cwd: this.spec.cwd, info: this.info })
    }
  }

  /**
   * A sidecar that never became ready ended: one clear report, and no restart unless it was
   * killed from outside (lib/exits.js).
   * @param {ChildProcess} child
   * @param {number | null} code
   * @param {NodeJS.Signals | null} signal
   */
  _failedToStart(child, code, signal) {
    if (this._stopping) return
    const { python, chosenBy, cwd } = this.spec
    const exit = this._beforeReady.exit({ pid: child.pid, code, signal, python, chosenBy, cwd },
      (file) => this.reporter.rel(file))
    failedToStart(exit, {
      crashed: (how) => this._restartAfterCrash(child, how),
      fail: (reason) => {
        if (!this._stopping) this._fail(reason)
      },
    })
  }

  /**
   * @param {ChildProcess} child
   * @param {number | null} code
   * @param {NodeJS.Signals | null} signal
   */
  _onExit(child, code, signal) {
    if (child !== this.child) return
    this.child = null
    if (this.info?.socket) removeSocketFolder(this.info.socket)
    this._servedBefore = this.info?.handlers ?? this._servedBefore
    this.info = null
    if (this._stopping) return this._settle('stopped')
    if (this.state === 'failed') return
    if (!this._beforeReady.everReady) {
      // Its last words may still be on their way: decide once its output has ended (bounded,
      // as a process it started could hold the pipes open).
      let decided = false
      const decide = () => {
        if (decided) return
        decided = true
        clearTimeout(timer)
        this._failedToStart(child, code, signal)
      }
      const timer = setTimeout(decide, OUTPUT_DRAIN_MS).unref()
      child.once('close', decide)
      return
    }
    this._restartAfterCrash(child, exitHow(code, signal))
  }

  /**
   * Starts the sidecar again after `child` ended unasked, with backoff, unless it is in a
   * crash loop (lib/exits.js).
   * @param {ChildProcess} child
   * @param {string} how how it ended, for the report
   */
  _restartAfterCrash(child, how) {
    const verdict = this._crashes.crashed(child.pid, how)
    if ('stop' in verdict) {
      this._fail(verdict.stop)
      return
    }
    this.reporter.error(verdict.report)
    this._settle('starting')
    this._restartTimer = setTimeout(() => this._spawn(), verdict.restartIn)
  }
}

/**
 * After a sidecar died without cleaning up: its socket file and the private folder around it
 * (`wsside-` and 8 characters, made by Python's mkdtemp). Only a path of exactly that shape
 * is touched, and nothing is removed recursively: the path comes from another process.
 * @param {string} socketPath
 */
export function removeSocketFolder(socketPath) {
  const folder = path.dirname(socketPath)
  if (path.basename(socketPath) !== 'sidecar.sock' || !/^wsside-[a-z0-9_]{8}$/.test(path.basename(folder))) return
  try {
    rmSync(socketPath, { force: true })
    rmdirSync(folder)
  } catch {
    // already gone, or not ours after all (not empty): leave it
  }
}
