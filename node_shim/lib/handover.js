// @ts-check
// Handing a client socket to the sidecar process over Node's IPC channel (SCM_RIGHTS), and
// knowing what became of it.
//
// Node writes one handle at a time and holds every later message until the sidecar answers
// the handle in flight: NODE_HANDLE_ACK once it holds the descriptor, before it writes
// anything to the client (it writes nothing until the ACK is in the channel, which Node reads
// to its end even after the sidecar died), NODE_HANDLE_NACK when no descriptor arrived. So a
// socket whose sidecar exited without acknowledging it is unanswered, and can go to the next
// sidecar; one it acknowledged is never answered twice. The answers carry no id;
// which socket one is for follows from order alone. So the shim gives Node one socket at a
// time itself: the one in flight is known, and a socket still waiting here has not left
// Node, so it can take another path. The send callback proves nothing: Node reports a write
// that completes later as a success even when it failed, and a descriptor still in the
// channel when the sidecar dies is lost with it.

import { message } from './protocol.js'

/** @import { ChildProcess } from 'node:child_process' */
/** @import { Server, Socket } from 'node:net' */
/** @import { SidecarProcess } from './sidecar.js' */

/**
 * How long the sidecar may take to answer a hand-over. It answers from its event loop as
 * soon as the channel is readable, within a millisecond; only a blocked loop (a handler
 * doing blocking work, which the sidecar reports as a stall from 0.5 s on, or a debugger
 * stopped at a breakpoint) delays it. 2 s is four stall thresholds, so that by then Vite's
 * terminal says what blocks; it restarts for each socket sent, so a burst of upgrades never
 * adds up to it; and it stays well below what a browser or a reconnecting client waits.
 */
export const ACK_TIMEOUT_MS = 2_000
// After the sidecar's exit, how long its last messages may take to be read.
const CHANNEL_DRAIN_MS = 1_000
const DRAIN_POLL_MS = 5

/**
 * The socket of an upgrade request, with the Node internals the hand-over uses: the libuv
 * handle (to stop reading without touching the stream's state) and the server that
 * accepted it (detached while the sidecar may hold the socket).
 * @typedef {Socket & { _handle?: { readStop(): number, readStart(): number } | null, server: Server | null }} ClientSocket
 */

/**
 * What became of a socket. For every outcome but `taken` the socket is Node's again, as it
 * was: reading, and attached to its server.
 * - `taken`: the sidecar holds it (Node's descriptor is closed);
 * - `refused`: the sidecar said no descriptor arrived (NACK; at its limit of open files, say);
 * - `unanswered`: no answer within ACK_TIMEOUT_MS;
 * - `busy`: never sent, because an earlier hand-over is unanswered;
 * - `lost`: the write failed, the sidecar exited without acknowledging it (so it wrote nothing
 *   to the client), or the client left while it waited.
 * @typedef {'taken' | 'refused' | 'unanswered' | 'busy' | 'lost'} Outcome
 */

/**
 * One socket to hand over.
 * @typedef {object} Pending
 * @property {ClientSocket} socket
 * @property {string} head the request head and the upgrade's bytes, latin-1 (PROTOCOL.md)
 * @property {'IPv4' | 'IPv6' | undefined} family
 * @property {Server | null} server where the socket belongs while it is Node's
 * @property {(outcome: Outcome) => void} resolve
 */

/** @param {ClientSocket} socket */
export function canHandOver(socket) {
  return typeof socket._handle?.readStop === 'function'
}

/** The hand-overs to one sidecar process. */
class Channel {
  /**
   * @param {SidecarProcess} proc
   * @param {ChildProcess} child proc's current process
   */
  constructor(proc, child) {
    this.proc = proc
    this.child = child
    /** @type {Pending | null} the socket Node has written, until the sidecar answers */
    this.inFlight = null
    this.sentAt = 0
    /** @type {Pending[]} sockets not given to Node yet, oldest first */
    this.waiting = []
    // The socket in flight got no answer in time. Node sends nothing more until the sidecar
    // answers it, so neither does the shim; its answer, when it comes, is its own.
    this.stuck = false
    /** @type {NodeJS.Timeout | null} restarted for each socket sent (one is in flight at a time) */
    this.timer = null
    /** @type {Set<(answering: boolean) => void>} told when a stuck channel answers again, or dies */
    this.resumed = new Set()
    // Node's own bookkeeping messages reach 'internalMessage' listeners (as in its cluster
    // module).
    child.on('internalMessage', (/** @type {{ cmd?: unknown } | null} */ msg) => {
      if (msg?.cmd === 'NODE_HANDLE_ACK') this.answered('taken')
      else if (msg?.cmd === 'NODE_HANDLE_NACK') this.answered('refused')
    })
    child.once('disconnect', () => this.abandon())
    // With a handle unanswered Node postpones 'disconnect' forever, so a dead sidecar is seen
    // by its exit; what it wrote before dying is still read first: `connected` turns false
    // when the channel's end is read, after every message before it.
    child.once('exit', () => {
      const since = Date.now()
      const drain = () => {
        if (child.connected && Date.now() - since < CHANNEL_DRAIN_MS) setTimeout(drain, DRAIN_POLL_MS)
        else this.abandon()
      }
      drain()
    })
  }

  /** @param {Pending} pending */
  submit(pending) {
    if (this.stuck) pending.resolve('busy')
    else if (this.inFlight) this.waiting.push(pending)
    else this.send(pending)
  }

  /** @param {Pending} pending */
  send(pending) {
    const { socket } = pending
    if (!canHandOver(socket) || socket.readableEnded) {
      // The client left while it waited (a FIN only ends its side): Node would send the
      // message without the socket, or Python would serve a client that is gone.
      pending.resolve('lost')
      this.next()
      return
    }
    // libuv must not read bytes that belong to the sidecar; whatever Node already buffered
    // travels with the head, and stays in the stream in case the socket comes back.
    socket._handle?.readStop()
    const buffered = socket.read()
    let head = pending.head
    if (buffered !== null) {
      head += buffered.toString('latin1')
      socket.unshift(buffered)
    }
    // Again: read() of a stream whose buffer had reached its high-water mark starts the
    // handle reading once more, and what it then read would be dropped with Node's copy.
    socket._handle?.readStop()
    // Detached from its net.Server first: otherwise Node makes the server ask this child
    // about its sockets on close(), and a child that exited before that leaves close()
    // waiting forever. keepOpen, then destroy once taken: the socket ends like any closed
    // connection of the server; the kernel keeps the connection alive through the
    // descriptor the sidecar now holds.
    socket.server = null
    // Node's HTTP server sets TCP_NODELAY on the sockets it accepts (this costs no system
    // call then); a server made with noDelay: false gets it here. The sidecar relies on it.
    socket.setNoDelay(true)
    this.inFlight = pending
    this.sentAt = Date.now()
    if (this.timer) this.timer.refresh()
    else this.timer = setTimeout(() => this.expired(), ACK_TIMEOUT_MS).unref()
    const msg = message('connection', { head, family: pending.family, noDelay: true })
    /** @param {Error | null} err */
    const failed = (err) => {
      if (!err || this.inFlight !== pending) return
      this.proc.reporter.debug(`hand-over failed: ${err.message}`)
      this.inFlight = null
      this.finish(pending, 'lost')
      this.next()
    }
    try {
      this.child.send(msg, socket, { keepOpen: true }, failed)
    } catch (err) {
      failed(/** @type {Error} */ (err))
    }
  }

  /** @param {'taken' | 'refused'} outcome */
  answered(outcome) {
    const pending = this.inFlight
    if (pending === null) return
    this.inFlight = null
    if (this.stuck) {
      // The late answer for the socket that was given up on.
      this.stuck = false
      this.proc.reporter.info(`the Python sidecar (pid ${this.child.pid}) answered a hand-over after ` +
        `${((Date.now() - this.sentAt) / 1000).toFixed(1)} s; handing sockets over again`)
      this.tellResumed(true)
    } else {
      this.finish(pending, outcome)
    }
    this.next()
  }

  expired() {
    const pending = this.inFlight
    if (pending === null || this.stuck) return
    // Node itself may have been busy past the deadline with the answer waiting in the
    // channel: the channel is read in this turn of the event loop, before setImmediate's.
    setImmediate(() => {
      if (this.inFlight === pending && !this.stuck) this.giveUp(pending)
    })
  }

  /** @param {Pending} pending the socket in flight */
  giveUp(pending) {
    this.stuck = true
    this.proc.reporter.warn(`the Python sidecar (pid ${this.child.pid}) has not taken a socket within ` +
      `${ACK_TIMEOUT_MS / 1000} s: is its event loop blocked (see any stall warning above)? ` +
      'New connections go through its Unix socket until it answers.')
    this.finish(pending, 'unanswered')
    for (const waiting of this.waiting.splice(0)) waiting.resolve('busy')
  }

  next() {
    const pending = this.waiting.shift()
    if (pending) this.send(pending)
  }

  abandon() {
    if (channels.get(this.child) === this) channels.delete(this.child)
    if (this.timer) clearTimeout(this.timer)
    const pending = this.inFlight
    this.inFlight = null
    if (pending && !this.stuck) {
      this.proc.reporter.debug(`the Python sidecar (pid ${this.child.pid}) left before acknowledging a hand-over: ` +
        'that socket is unanswered, and goes to the next sidecar')
      this.finish(pending, 'lost')
    }
    for (const waiting of this.waiting.splice(0)) waiting.resolve('lost')
    this.tellResumed(false)
  }

  /** @param {boolean} answering */
  tellResumed(answering) {
    for (const resume of [...this.resumed]) resume(answering)
  }

  /**
   * @param {Pending} pending
   * @param {Outcome} outcome
   */
  finish({ socket, server, resolve }, outcome) {
    if (outcome === 'taken') {
      socket.destroy()
    } else {
      // Back to how Node had it. For `unanswered` the sidecar may still receive the
      // descriptor; see createUpgradeListener for why the client then gets a 503 all the same.
      socket.server = server
      socket._handle?.readStart()
    }
    resolve(outcome)
  }
}

/** @type {WeakMap<ChildProcess, Channel>} */
const channels = new WeakMap()

/**
 * For a sidecar that left a hand-over unanswered (its event loop does not run: a blocking
 * handler, a debugger, SIGSTOP): resolves true once it answers again, false after `ms` or
 * when it exits first. False at once when no hand-over to `child` is unanswered.
 * @param {ChildProcess} child
 * @param {number} ms
 * @returns {Promise<boolean>}
 */
export function answersAgain(child, ms) {
  const channel = channels.get(child)
  if (!channel?.stuck) return Promise.resolve(false)
  const { resumed } = channel
  return new Promise((resolve) => {
    /** @param {boolean} answering */
    const done = (answering) => {
      clearTimeout(timer)
      resumed.delete(done)
      resolve(answering)
    }
    const timer = setTimeout(() => done(false), ms)
    resumed.add(done)
  })
}

/**
 * Hands `socket` to `child`, the current process of `proc` (connected), with the request
 * head the sidecar answers (`head`, latin-1, PROTOCOL.md); `family` is that of the address
 * the server listens on. Resolves with what became of it (see Outcome).
 * @param {SidecarProcess} proc
 * @param {ChildProcess} child
 * @param {ClientSocket} socket
 * @param {string} head
 * @param {'IPv4' | 'IPv6' | undefined} family
 * @returns {Promise<Outcome>}
 */
export function handOver(proc, child, socket, head, family) {
  let channel = channels.get(child)
  if (!channel) {
    channel = new Channel(proc, child)
    channels.set(child, channel)
  }
  const target = channel
  return new Promise((resolve) => target.submit({ socket, head, family, server: socket.server, resolve }))
}
