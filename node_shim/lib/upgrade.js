// @ts-check
// Upgrade requests under the prefix: check who is asking, wait for the sidecar, then give
// it the connection. Plain HTTP on POSIX: the socket itself is handed over (SCM_RIGHTS over
// the IPC channel) and Node does no further work for it. Otherwise (TLS, Windows): bytes are
// piped to the sidecar's private Unix socket. Both paths send the same request head.

import net from 'node:net'
import tls from 'node:tls'
import { message } from './protocol.js'
import { underPrefix } from './options.js'
import { refusalReason } from './security.js'

/** @import { ChildProcess } from 'node:child_process' */
/** @import { IncomingMessage } from 'node:http' */
/** @import { Server, Socket } from 'node:net' */
/** @import { Duplex } from 'node:stream' */
/** @import { ReadyMessage } from './protocol.js' */
/** @import { SecurityContext } from './security.js' */
/** @import { SidecarProcess } from './sidecar.js' */

/**
 * What the upgrade listener of one HTTP server needs to know.
 * @typedef {object} UpgradeContext
 * @property {() => SidecarProcess} sidecar
 * @property {() => string[]} prefixes
 * @property {() => 'IPv4' | 'IPv6' | undefined} family of the server's sockets, see socketFamily
 * @property {SecurityContext} security
 */

/**
 * The socket of an upgrade request, with the Node internals the hand-over uses: the libuv
 * handle (to stop reading without touching the stream's state) and the server that
 * accepted it (detached while a child holds the socket).
 * @typedef {Socket & { _handle?: { readStop(): number } | null, server: Server | null }} ClientSocket
 */

export const READY_WAIT_MS = 10_000
const SECRET_HEADER = 'x-wsside-secret'
const STATUS = { 403: 'Forbidden', 503: 'Service Unavailable' }

/**
 * Vite's own HMR socket (and its ping) is told apart by its subprotocol.
 * @param {IncomingMessage} req
 */
function isViteSocket(req) {
  const protocols = req.headers['sec-websocket-protocol']
  return protocols !== undefined && /(^|,)\s*vite-(hmr|ping)\s*(,|$)/.test(protocols)
}

/** @param {string} url */
function pathnameOf(url) {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

/**
 * A complete HTTP response on a raw socket, then close.
 * @param {Duplex} socket
 * @param {keyof typeof STATUS} status
 * @param {string} text
 */
export function respond(socket, status, text) {
  const body = Buffer.from(text + '\n')
  socket.end(
    `HTTP/1.1 ${status} ${STATUS[status] ?? ''}\r\nConnection: close\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n` + body,
  )
}

/**
 * The request head the sidecar parses, re-serialised from what Node parsed, with `extra`
 * header pairs appended, as latin-1 text (one character per byte). A client's own secret
 * header is dropped, never passed on.
 * @param {IncomingMessage} req
 * @param {Array<[string, string]>} [extra]
 */
export function headText(req, extra = []) {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() !== SECRET_HEADER) text += `${raw[i]}: ${raw[i + 1]}\r\n`
  }
  for (const [name, value] of extra) text += `${name}: ${value}\r\n`
  return text + '\r\n'
}

/**
 * @param {ClientSocket} socket
 * @param {ChildProcess} child
 */
function canHandOver(socket, child) {
  return process.platform !== 'win32' && !(socket instanceof tls.TLSSocket) &&
    child.connected && typeof socket._handle?.readStop === 'function'
}

// Sockets sent to each sidecar process and not yet acknowledged, oldest first. Node sends
// one handle at a time and the sidecar answers each with NODE_HANDLE_ACK once it holds the
// descriptor (and has answered the handshake), so the acknowledgements arrive in this order. The send callback alone
// proves nothing: Node reports a write that completes later as a success even when it
// failed, and a descriptor still in the channel when the sidecar dies is lost with it.
/** @type {WeakMap<ChildProcess, Array<(taken: boolean | typeof REFUSED) => void>>} */
const unacknowledged = new WeakMap()
const REFUSED = 'refused' // what handOver resolves to when the sidecar sent NODE_HANDLE_NACK
// After the sidecar's exit, how long its last messages may take to be read.
const CHANNEL_DRAIN_MS = 1_000
const DRAIN_POLL_MS = 5

/** @param {ChildProcess} child */
function acknowledgements(child) {
  const known = unacknowledged.get(child)
  if (known) return known
  /** @type {Array<(taken: boolean | typeof REFUSED) => void>} */
  const queue = []
  unacknowledged.set(child, queue)
  const abandon = () => {
    for (const settle of queue.splice(0)) settle(false)
  }
  // Node's own bookkeeping messages reach 'internalMessage' listeners (as in its cluster
  // module). A NACK says the descriptor did not arrive (the sidecar at its open-file limit,
  // say); with keepOpen Node does not send it again, so the socket is still ours to answer.
  child.on('internalMessage', (/** @type {{ cmd?: string } | null} */ msg) => {
    if (msg?.cmd === 'NODE_HANDLE_ACK') queue.shift()?.(true)
    else if (msg?.cmd === 'NODE_HANDLE_NACK') queue.shift()?.(REFUSED)
  })
  child.once('disconnect', abandon)
  // With a handle unacknowledged Node postpones 'disconnect' forever, so a dead sidecar is
  // seen by its exit; what it wrote before dying is still read first: `connected` turns false
  // when the channel's end is read, after every message before it.
  child.once('exit', () => {
    const since = Date.now()
    const drain = () => {
      if (child.connected && Date.now() - since < CHANNEL_DRAIN_MS) setTimeout(drain, DRAIN_POLL_MS)
      else abandon()
    }
    drain()
  })
  return queue
}

// Resolves true once the sidecar holds the socket; false when it never took it, or REFUSED
// when it said the descriptor did not arrive (the socket is then untouched but for readStop:
// the caller may try the next sidecar, or answer it).
/**
 * @param {SidecarProcess} proc
 * @param {ChildProcess} child its process, connected
 * @param {ClientSocket} socket
 * @param {IncomingMessage} req
 * @param {Buffer} head
 * @param {'IPv4' | 'IPv6' | undefined} family
 * @returns {Promise<boolean | typeof REFUSED>}
 */
function handOver(proc, child, socket, req, head, family) {
  // libuv must not read bytes that belong to the sidecar; whatever Node already buffered
  // travels with the head (canHandOver checked that there is a handle).
  socket._handle?.readStop()
  const buffered = socket.read()
  let text = headText(req)
  if (head.length) text += head.toString('latin1')
  if (buffered !== null) {
    text += buffered.toString('latin1')
    socket.unshift(buffered)
  }
  // Detached from its net.Server first: otherwise Node makes the server ask this child about
  // its sockets on close(), and a child that exited before that leaves close() waiting
  // forever. keepOpen, then destroy once acknowledged: the socket ends like any closed
  // connection of the server; the kernel keeps the connection alive through the descriptor
  // the sidecar now holds.
  const server = socket.server
  socket.server = null
  // Node's HTTP server sets TCP_NODELAY on the sockets it accepts (this costs no system call
  // then); a server made with noDelay: false gets it here. The sidecar relies on it.
  socket.setNoDelay(true)
  const msg = message('connection', { head: text, family, noDelay: true })
  return new Promise((resolve) => {
    let settled = false
    /**
     * @param {boolean | typeof REFUSED} taken
     * @param {Error | null} [err]
     */
    const settle = (taken, err) => {
      if (settled) return
      settled = true
      if (taken === true) {
        socket.destroy()
      } else {
        if (err) proc.reporter.debug(`hand-over of ${pathnameOf(req.url ?? '/')} failed: ${err.message}`)
        socket.server = server
      }
      resolve(taken)
    }
    const queue = acknowledgements(child)
    queue.push(settle)
    /** @param {Error} err */
    const giveUp = (err) => {
      const i = queue.indexOf(settle)
      if (i >= 0) queue.splice(i, 1)
      settle(false, err)
    }
    try {
      child.send(msg, socket, { keepOpen: true },
        (err) => err && giveUp(err))
    } catch (err) {
      giveUp(/** @type {Error} */ (err))
    }
  })
}

/**
 * Resolves true once connected to the sidecar's Unix socket, false when it could not be
 * reached (nothing was written to the client yet).
 * @param {SidecarProcess} proc
 * @param {ReadyMessage} info
 * @param {Socket} socket
 * @param {IncomingMessage} req
 * @param {Buffer} head
 * @returns {Promise<boolean>}
 */
function pipe(proc, info, socket, req, head) {
  const upstream = net.connect(info.socket)
  return new Promise((resolve) => {
    upstream.once('error', (/** @type {NodeJS.ErrnoException} */ err) => {
      proc.reporter.debug(`cannot reach the sidecar for ${pathnameOf(req.url ?? '/')}: ${err.code ?? err.message}`)
      upstream.destroy()
      resolve(false)
    })
    upstream.on('connect', () => {
      upstream.removeAllListeners('error')
      upstream.on('error', () => socket.destroy())
      socket.on('close', () => upstream.destroy())
      upstream.on('close', () => socket.destroy())
      socket.setNoDelay(true)
      upstream.write(headText(req, [[SECRET_HEADER, proc.secret]]), 'latin1')
      if (head.length) upstream.write(head)
      socket.pipe(upstream)
      upstream.pipe(socket)
      resolve(true)
    })
  })
}

/**
 * The `upgrade` listener for one HTTP server.
 * @param {UpgradeContext} ctx
 */
export function createUpgradeListener(ctx) {
  /**
   * @param {IncomingMessage} req
   * @param {Duplex} duplex
   * @param {Buffer} head
   */
  return async function wssideUpgrade(req, duplex, head) {
    // HTTP servers hand over the connection's net.Socket (a tls.TLSSocket for HTTPS).
    const socket = /** @type {ClientSocket} */ (duplex)
    if (isViteSocket(req)) return
    const pathname = pathnameOf(req.url ?? '/')
    if (!underPrefix(pathname, ctx.prefixes())) return
    const proc = ctx.sidecar()
    // Socket errors crash Node when unhandled; a vanished client is not Vite's problem.
    socket.on('error', (/** @type {NodeJS.ErrnoException} */ err) => proc.reporter.debug(`client socket for ${pathname}: ${err.code ?? err.message}`))
    const reason = refusalReason(req, ctx.security)
    if (reason !== null) {
      proc.reporter.warn(`refused ${pathname}: ${reason}`)
      return respond(socket, 403, 'Forbidden')
    }
    // A sidecar that dies between "ready" and forwarding is waited out like a starting one.
    // When it is ready, the socket goes over within this event, with no promise in between.
    /** @type {number | null} */
    let deadline = null
    /** @type {ReadyMessage | null} */
    let stale = null
    for (;;) {
      let info = proc.readyInfo(stale)
      if (info === null) {
        deadline ??= Date.now() + READY_WAIT_MS
        info = await proc.whenReady(Math.max(0, deadline - Date.now()), stale)
        if (socket.destroyed) return
      }
      if (info === null) {
        proc.reporter.warn(`refused ${pathname}: the Python sidecar is not ready (${proc.state})`)
        return respond(socket, 503, 'WebSocket back end unavailable')
      }
      let forwarded
      const child = proc.child
      if (child !== null && canHandOver(socket, child)) {
        if (proc.reporter.debugging) proc.reporter.debug(`${pathname}: hand-over (socket passed to pid ${info.pid})`)
        forwarded = await handOver(proc, child, socket, req, head, ctx.family())
        if (forwarded === REFUSED) {
          proc.reporter.warn(`refused ${pathname}: the Python sidecar could not receive the socket ` +
            '(NODE_HANDLE_NACK; is it at its limit of open files?)')
          return respond(socket, 503, 'WebSocket back end unavailable')
        }
      } else if (child?.connected) {
        proc.reporter.debug(`${pathname}: pipe (${socket instanceof tls.TLSSocket ? 'TLS dev server' : 'hand-over unavailable'})`)
        forwarded = await pipe(proc, info, socket, req, head)
      } else {
        forwarded = false // the sidecar lost its IPC channel: it is exiting
      }
      if (forwarded || socket.destroyed) return
      stale = info
    }
  }
}
