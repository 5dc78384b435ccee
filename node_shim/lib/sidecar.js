// @ts-check
// The Python sidecar of one configuration, through the processes it runs: spawning one once
// a server listens, reading its output (lib/output.js) and its messages over Node's IPC
// channel (`ready` here, the rest shown by lib/events.js), and letting callers wait for
// `ready`. How a process ends and what follows (Vite closing, a crash and its restart, a
// failed start) is all in lib/exits.js. The Vite servers of one configuration share it
// through lib/sidecars.js.

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { BeforeReady } from './before-ready.js'
import { Exits } from './exits.js'
import { brokenVenvPassedBy } from './why-no-wsside.js'
import { parse, PLUGIN_VERSION, ProtocolMismatch, releaseLineSkew } from './protocol.js'
import { showEvent } from './events.js'
import { readOutput } from './output.js'
import { readyLines } from './report.js'
import { StandingErrors } from './standing-errors.js'
import { syncTypesFile } from './types-file.js'

// What the sidecar sends once a handler file's import has ended, whichever way.
const IMPORT_ENDS = new Set(['loaded', 'reloaded', 'load_error', 'ready'])

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
 * @property {{ python: string, handlers?: string, prefix: string[] | null, config?: string, env: Record<string, string> }} given
 *   the options as wsside() gave them (the interpreter as resolved), by option name
 */

export class SidecarProcess {
  /** @param {SidecarSpec} spec */
  constructor(spec) {
    this.spec = spec
    // Per run, ≥128 bits; it only travels in the child's environment and in request heads
    // on the private Unix socket, never in a URL or a log line.
    this.secret = randomBytes(32).toString('base64url')
    /** @type {'starting' | 'ready' | 'failed' | 'stopped'} `starting` also while a restart
     * waits; `failed` and `stopped` for good (lib/exits.js), until lib/sidecars.js replaces it */
    this.state = 'starting'
    /** @type {ReadyMessage | null} the last `ready` message */
    this.info = null
    /** @type {ReadyMessage | null} the `ready` of a process that said `draining`: it refuses
     * upgrades from then on, so they wait for the next `ready` */
    this._draining = null
    /** @type {HandlerInfo[] | null} the endpoints a process served last (reloads included) */
    this._servedBefore = null
    /** @type {string | null} the handler file it is importing now, named if it ends meanwhile */
    this.importing = null
    /** @type {Set<string>} the folders of the handler files its processes imported */
    this._handlerFolders = new Set()
    /** @type {Set<(folder: string) => void>} */
    this._folderListeners = new Set()
    /** @type {ChildProcess | null} */
    this.child = null
    this.refs = 0
    // Its place in the order lib/sidecars.js made sidecars in (a restarted Vite's comes later).
    this.born = 0
    /** @type {Reporter[]} one per Vite server holding this sidecar, the newest last */
    this.reporters = []
    // What it said before `ready` (lib/before-ready.js): the likely cause of a failed start.
    this.beforeReady = new BeforeReady()
    /** @type {Set<() => void>} */
    this._waiters = new Set()
    // The errors on the pages of every server holding it, until fixed (lib/report.js).
    this.standing = new StandingErrors(() => this.reporter)
    // Whether a server holding it has listened: the process starts then (see serverListening()).
    this._serverListened = false
    this._exits = new Exits(this)
    /** @type {string | null} the wsside version whose release line was last compared at `ready` */
    this._skewTold = null
    /** @type {WeakMap<ChildProcess, string[]>} per process, the last lines of its stderr that
     * are not wsside's own (a Python traceback): what a crash loop's report quotes */
    this._stderrTails = new WeakMap()
  }

  /**
   * Reports to `reporter` (a Vite server's) from now on, and shows the errors that stand
   * to each page that connects to it.
   * @param {Reporter} reporter
   */
  addReporter(reporter) {
    this.reporters.push(reporter)
    this.standing.showToNewPages(reporter)
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
    if (this._exits.stopping) return
    // Said once, before the process's own lines: its handlers' imports of packages installed
    // in that environment fail, and their errors do not say why.
    const { python, rule, chosenBy, cwd } = this.spec
    const broken = brokenVenvPassedBy(python, rule, chosenBy, cwd)
    if (broken !== null) this.reporter.warn(broken)
    this.spawn()
  }

  /** Starts a process: the first once a server listens, then each restart (lib/exits.js). */
  spawn() {
    const { python, rule, args, cwd, env } = this.spec
    this.state = 'starting'
    this.beforeReady.spawned()
    this.reporter.debug(`starting ${python} (interpreter rule: ${rule}) in ${cwd}`)
    // Starts each of wsside's own lines of this process (`_edge/logs.py`), which it takes out
    // of its environment as the secret: a line without it is not wsside's, whatever it says
    // (a handler's print of a client's `wsside:error: the sidecar crashed`). Never shown.
    const mark = randomBytes(6).toString('hex')
    const child = spawn(python, args, {
      cwd,
      env: { ...process.env, ...env, PYTHONUNBUFFERED: '1', WSSIDE_SECRET: this.secret, WSSIDE_MARK: mark },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      windowsHide: true,
    })
    this.child = child
    // The sidecar must never keep Vite's process alive; it exits by itself on EOF.
    child.unref()
    // Bun's runtime (`bunx --bun vite`) gives a channel without unref: Vite died on start.
    child.channel?.unref?.()
    // With stdio 'pipe' both exist, and are sockets (which can be unref'd).
    for (const stream of [child.stdout, child.stderr]) /** @type {Socket} */ (stream).unref()
    this._stderrTails.set(child, readOutput(this, child, mark))
    child.on('message', (msg) => this._onMessage(child, msg))
    this._exits.watch(child)
  }

  /**
   * The last lines that process `child` wrote to its stderr (lib/output.js), wsside's
   * own lines left out: Python's traceback of an error that ended it, if it wrote one.
   * @param {ChildProcess} child
   * @returns {string[]}
   */
  stderrTail(child) {
    return this._stderrTails.get(child) ?? []
  }

  /**
   * A project file was saved (`file`, as the terminal names it): a sidecar that failed in a
   * way such a file may fix starts again (lib/exits.js).
   * @param {string} file
   */
  startAgain(file) {
    this._exits.startAgain(file)
  }

  /**
   * Calls `listener` with each folder holding a handler file the sidecar imported, now and as
   * it imports more: the handlers folder may be set in the config file, which only the sidecar
   * reads (lib/attach.js watches them). Returns the function that stops the calls.
   * @param {(folder: string) => void} listener
   * @returns {() => void}
   */
  onHandlerFolder(listener) {
    for (const folder of this._handlerFolders) listener(folder)
    this._folderListeners.add(listener)
    return () => void this._folderListeners.delete(listener)
  }

  /**
   * The `ready` message when the sidecar can take connections now (and it is not `stale`), else null.
   * @param {ReadyMessage | null} [stale]
   */
  readyInfo(stale = null) {
    return this.state === 'ready' && this.info !== stale && this.info !== this._draining ? this.info : null
  }

  /**
   * The config file (its path; '' when not known) whose error keeps the running process from
   * its `ready`: it serves once the file is fixed. Null when no config error holds it back.
   * @returns {string | null}
   */
  get waitsForConfigFix() {
    return this.state === 'starting' ? this.beforeReady.configError : null
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

  /**
   * Stops the sidecar for good (lib/exits.js): it closes every client with 1001 Going Away,
   * then exits.
   */
  shutdown() {
    return this._exits.stop()
  }

  /**
   * The state changes (at `ready` here, at each end in lib/exits.js): the waits for `ready`
   * look again.
   * @param {'starting' | 'ready' | 'failed' | 'stopped'} state
   */
  settle(state) {
    this.state = state
    this._wakeWaiters()
  }

  _wakeWaiters() {
    for (const waiter of [...this._waiters]) waiter()
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
      if (err instanceof ProtocolMismatch) this._exits.mismatch(err)
      else this._exits.fail(/** @type {Error} */ (err).message)
      return
    }
    if (envelope === null || child !== this.child) return
    // Our own sidecar of our protocol version: its `type` says the shape (PROTOCOL.md).
    const msg = /** @type {SidecarEvent} */ (envelope)
    if (msg.type === 'importing') {
      this.importing = msg.file
      const folder = path.dirname(path.resolve(this.spec.cwd, msg.file))
      if (!this._handlerFolders.has(folder)) {
        this._handlerFolders.add(folder)
        for (const listener of this._folderListeners) listener(folder)
      }
      return
    }
    if (IMPORT_ENDS.has(msg.type)) this.importing = null
    if (msg.type === 'draining') {
      this._draining = this.info
      this.reporter.debug('sidecar: draining (upgrades wait for the next ready)')
      return
    }
    if (msg.type === 'ready') {
      // A restart in the process (a config change) sends `ready` again: the table before it.
      const before = this.info?.handlers ?? this._servedBefore
      this.info = msg
      this.beforeReady.ready()
      this.settle('ready')
      // Its settings are valid now, whatever error an earlier edit of the config had, and
      // a failure that a saved file fixed (startAgain) is over.
      this.standing.fixedAll('config')
      this.standing.fixedAll('sidecar')
      const r = this.reporter
      // What was refused while it was down goes before the line saying it is back.
      for (const reporter of this.reporters) reporter.readyAgain()
      r.info(`sidecar ready: pid ${msg.pid}, wsside ${msg.version} (vite-plugin-wsside ${PLUGIN_VERSION}), ${msg.python}` +
        (msg.backplane ? `; backplane ${msg.backplane}` : ''))
      // Same protocol, other release lines: it runs, but the two were not made together. Said
      // once per version (a config change sends `ready` again).
      const skew = releaseLineSkew(msg.version, msg.python)
      if (skew !== null && this._skewTold !== msg.version) r.warn(skew)
      this._skewTold = msg.version
      for (const line of readyLines(r, msg.handlers, before, msg.unloaded)) r.info(`  ${line}`)
      syncTypesFile(this.spec.cwd, msg.types, r)
    } else if (msg.type === 'protocol_error') {
      this._exits.fail(msg.message)
    } else {
      if (this.state === 'starting' && this.beforeReady.note(msg)) this._wakeWaiters()
      showEvent(msg, { reporter: this.reporter, standing: this.standing, cwd: this.spec.cwd, info: this.info })
    }
  }

  /**
   * Its process has ended (lib/exits.js): the endpoints it served are kept, for the next
   * `ready` to compare with, and the socket folder it may have left is removed.
   */
  forgetProcess() {
    this.child = null
    this.importing = null
    if (this.info?.socket) removeSocketFolder(this.info.socket)
    this._servedBefore = this.info?.handlers ?? this._servedBefore
    this.info = null
    this._draining = null
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
