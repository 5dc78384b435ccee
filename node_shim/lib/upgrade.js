// @ts-check
// Upgrade requests under the prefix: check who is asking, wait for the sidecar (not while a
// config error holds it back), then give it the connection. Plain HTTP on POSIX: the socket
// itself is handed over (SCM_RIGHTS over the IPC channel, lib/handover.js) and Node does no
// further work for it. Otherwise (TLS, Windows, or while the sidecar has not answered a
// hand-over): bytes are piped to the sidecar's private Unix socket. Both paths send the same
// request head (lib/wire.js); the pipe adds the run's secret and the client's address.

import net from 'node:net'
import tls from 'node:tls'
import { answersAgain, canHandOver, handOver, ACK_TIMEOUT_MS } from './handover.js'
import { underPrefix } from './options.js'
import { refusalReason } from './security.js'
import { headText, peerHeader, respond, SECRET_HEADER } from './wire.js'

/** @import { IncomingMessage } from 'node:http' */
/** @import { Socket } from 'node:net' */
/** @import { Duplex } from 'node:stream' */
/** @import { ClientSocket } from './handover.js' */
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
 * @property {(url: string) => string | null} [proxied] the key of the `server.proxy` rule that
 *   forwards this upgrade (Vite's proxy takes it too, so wsside leaves it), or null
 * @property {string} [clientPrefix] the prefix the browser client connects under when the
 *   plugin's `prefix` option is unset (its default), which a prefix in the config file does not move
 * @property {string} [base] Vite's `base` (`/app/`), which does not move the prefix: an
 *   upgrade under base + prefix is someone's mistake, and is told where the endpoint is
 */

export const READY_WAIT_MS = 10_000
// Set on a request by the listener that takes it. wsside() twice on one server (listed twice,
// or a shared config merged in) adds two listeners: the second would pipe the same socket to
// a second session, or hand it over again, and the client would get two answers. Symbol.for:
// the two may come from two copies of this module.
export const TAKEN = Symbol.for('vite-plugin-wsside.taken')

/**
 * Vite's own HMR socket (and its ping) is told apart by its subprotocol.
 * @param {IncomingMessage} req
 */
function isViteSocket(req) {
  const protocols = req.headers['sec-websocket-protocol']
  return protocols !== undefined && /(^|,)\s*vite-(hmr|ping)\s*(,|$)/.test(protocols)
}

/** @param {string} url */
export function pathnameOf(url) {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

/**
 * `pathname` as the page wrote it, to compare with a pattern (`/api/caf%C3%A9` is
 * `/api/café`, as the sidecar matches it); a reserved character's escape (`%2F`) stays, and
 * a malformed escape leaves it as sent.
 * @param {string} pathname
 */
export function asWritten(pathname) {
  try {
    return decodeURI(pathname)
  } catch {
    return pathname
  }
}

/**
 * Resolves null once connected to the sidecar's Unix socket, or, when it could not be reached
 * (nothing was written to the client yet), the error's code: `EAGAIN` when its listen queue
 * is full (the process runs, its event loop does not), another when nothing listens there.
 * @param {SidecarProcess} proc
 * @param {ReadyMessage} info
 * @param {Socket} socket
 * @param {IncomingMessage} req
 * @param {Buffer} head
 * @returns {Promise<string | null>}
 */
function pipe(proc, info, socket, req, head) {
  const upstream = net.connect(info.socket)
  return new Promise((resolve) => {
    upstream.once('error', (/** @type {NodeJS.ErrnoException} */ err) => {
      proc.reporter.debug(`cannot reach the sidecar for ${pathnameOf(req.url ?? '/')}: ${err.code ?? err.message}`)
      upstream.destroy()
      resolve(err.code ?? err.message)
    })
    upstream.on('connect', () => {
      if (socket.destroyed || socket.readableEnded) {
        // The client left while the sidecar's socket connected: nothing to serve.
        upstream.destroy()
        socket.destroy()
        return resolve(null)
      }
      upstream.removeAllListeners('error')
      upstream.on('error', () => socket.destroy())
      socket.on('close', () => upstream.destroy())
      upstream.on('close', () => socket.destroy())
      socket.setNoDelay(true)
      upstream.write(headText(req, [[SECRET_HEADER, proc.secret], ...peerHeader(socket)]), 'latin1')
      if (head.length) upstream.write(head)
      socket.pipe(upstream)
      upstream.pipe(socket)
      resolve(null)
    })
  })
}

/**
 * For an upgrade outside the prefixes: the path it was likely meant for, when it is under
 * Vite's `base` followed by a prefix (`/app/api/echo` with base `/app/`: `/api/echo`), as a
 * page that builds its URL from `import.meta.env.BASE_URL` asks; else null.
 * @param {string} pathname
 * @param {string | undefined} base
 * @param {string[]} prefixes
 */
function meantUnderPrefix(pathname, base, prefixes) {
  if (!base || base === '/' || !base.startsWith('/') || !pathname.startsWith(base)) return null
  const rest = pathname.slice(base.length - 1)
  return underPrefix(rest, prefixes) ? rest : null
}

/**
 * For an upgrade outside the prefixes whose path ends with an endpoint's own pattern (the
 * prefix left out, or another prefix than the sidecar's, as a page built its URL): that
 * endpoint's URL, else null. Patterns with variables are not guessed at.
 * @param {string} pathname
 * @param {ReadyMessage | null} info
 */
function meantEndpoint(pathname, info) {
  for (const handler of info?.handlers ?? []) {
    if (!handler.disabled && !handler.has_variables && asWritten(pathname).endsWith(handler.pattern)) return handler.path
  }
  return null
}

// Paths outside the prefix already named in the log, at most this many.
const NAMED_PATHS_MAX = 20

/**
 * The `upgrade` listener for one HTTP server.
 * @param {UpgradeContext} ctx
 */
export function createUpgradeListener(ctx) {
  let warnedTwice = false
  let warnedBase = false
  /** @type {Set<string>} the paths outside the prefix already named in the log */
  const namedPaths = new Set()
  /** @type {Set<string>} the proxy rules already named in the log */
  const namedRules = new Set()
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
    if (!underPrefix(pathname, ctx.prefixes())) {
      // Left to the server's other listeners; none answers such a path, and the client waits
      // for good: the terminal says where the endpoint is, once.
      const meant = warnedBase ? null : meantUnderPrefix(pathname, ctx.base, ctx.prefixes())
      if (meant !== null && (ctx.proxied?.(req.url ?? '/') ?? null) === null) {
        warnedBase = true
        namedPaths.add(pathname)
        const prefix = ctx.prefixes().find((p) => underPrefix(meant, [p])) ?? ''
        ctx.sidecar().reporter.warn(`${pathname}: no WebSocket endpoint there, and the client gets no answer: ` +
          `Vite's base (${ctx.base}) does not move wsside's prefix, so this endpoint is at ${meant}. Connect to ` +
          `${meant} (vite-plugin-wsside/client does), or set prefix: '${ctx.base?.slice(0, -1)}${prefix}' in ` +
          'wsside() to serve it under base.')
        return
      }
      const endpoint = namedPaths.size < NAMED_PATHS_MAX && !namedPaths.has(pathname)
        ? meantEndpoint(pathname, ctx.sidecar().readyInfo()) : null
      if (endpoint !== null && (ctx.proxied?.(req.url ?? '/') ?? null) === null) {
        namedPaths.add(pathname)
        const client = ctx.clientPrefix
        if (client !== undefined && underPrefix(pathname, [client])) {
          // The browser client's own prefix, which the config file moved away from.
          const served = ctx.prefixes()
          ctx.sidecar().reporter.warn(`${pathname}: outside wsside's prefix (${served.join(', ')}), which the ` +
            `config file sets, while the browser client connects under ${client}, as wsside() in vite.config ` +
            `has no prefix option, so no one answers. Set prefix: '${served[0]}' in wsside() (the client follows ` +
            `it), or remove prefix from the config file; a client of your own connects to ${endpoint}.`)
          return
        }
        ctx.sidecar().reporter.warn(`${pathname}: outside wsside's prefix (${ctx.prefixes().join(', ')}), so wsside ` +
          'leaves it to Vite\'s other listeners; when none of them serves it, the handshake waits unanswered, or gets 404 where nothing else listens for upgrades (the browser client retries). Did you mean ' +
          `${endpoint}?`)
      }
      return
    }
    const proc = ctx.sidecar()
    // Vite's proxy listener comes after this one and forwards whatever its rule matches: two
    // answers on one socket. Like plain requests, what server.proxy serves is its own.
    const rule = ctx.proxied?.(req.url ?? '/') ?? null
    if (rule !== null) {
      if (!namedRules.has(rule)) {
        namedRules.add(rule)
        proc.reporter.warn(`${pathname}: left to server.proxy['${rule}'] (ws: true), which forwards ` +
          'the upgrades it matches, also under the wsside prefix; wsside serves the others. Narrow that rule ' +
          'or drop its ws: true to have Python serve them.')
      }
      return
    }
    const taken = /** @type {IncomingMessage & { [TAKEN]?: true }} */ (req)
    if (taken[TAKEN]) {
      if (!warnedTwice) {
        warnedTwice = true
        proc.reporter.warn(`${pathname}: wsside() is in vite.config's plugins more than once (a shared config ` +
          'merged in?), with prefixes in common: the first one serves them. Keep one, or give each its own prefix.')
      }
      return
    }
    taken[TAKEN] = true
    // Socket errors crash Node when unhandled; a vanished client is not Vite's problem.
    socket.on('error', (/** @type {NodeJS.ErrnoException} */ err) => proc.reporter.debug(`client socket for ${pathname}: ${err.code ?? err.message}`))
    // A client that gave up: a reset destroys the socket, but a browser that aborts a pending
    // WebSocket sends a FIN, which (Node's HTTP server allowing half-open sockets) only ends
    // its side. Neither is refused in the log, nor handed to Python as a connection.
    const gone = () => socket.destroyed || socket.readableEnded
    const reason = refusalReason(req, ctx.security)
    if (reason !== null) {
      proc.reporter.refused(pathname, reason)
      return respond(socket, 403, 'Forbidden')
    }
    // A sidecar that dies between "ready" and forwarding is waited out like a starting one.
    // When it is ready, the socket goes over within this event, with no promise in between.
    /** @type {number | null} */
    let deadline = null
    /** @type {ReadyMessage | null} */
    let stale = null
    for (;;) {
      if (gone()) return void socket.destroy()
      let info = proc.readyInfo(stale)
      if (info === null) {
        deadline ??= Date.now() + READY_WAIT_MS
        info = await proc.whenReady(Math.max(0, deadline - Date.now()), stale)
        if (gone()) return void socket.destroy()
      }
      if (info === null) {
        // Waiting would not help while a config error holds it back: say so at once.
        const configFile = proc.waitsForConfigFix
        // While it is down every page's reconnects are refused alike: said once (lib/report.js).
        const report = configFile === null && proc.state === 'ready' ? proc.reporter.refused : proc.reporter.refusedWhileDown
        report(pathname, configFile === null
          ? (proc.state === 'ready' ? `the Python sidecar did not accept the connection within ${READY_WAIT_MS / 1000} s`
            : `the Python sidecar is not ready (${proc.state})`)
          : `${configFile ? proc.reporter.rel(configFile) : 'its config'} has an error (above); ` +
            'the sidecar serves once it is fixed')
        return respond(socket, 503, 'WebSocket back end unavailable')
      }
      const child = proc.child
      if (child === null || !child.connected) {
        stale = info // the sidecar lost its IPC channel: it is exiting
        continue
      }
      let pipeReason = socket instanceof tls.TLSSocket ? 'TLS dev server'
        : process.platform === 'win32' || !canHandOver(socket) ? 'hand-over unavailable' : null
      if (pipeReason === null) {
        if (proc.reporter.debugging) proc.reporter.debug(`${pathname}: hand-over (socket passed to pid ${info.pid})`)
        const outcome = await handOver(proc, child, socket, headText(req) + head.toString('latin1'), ctx.family())
        if (outcome === 'taken') return
        if (gone()) return void socket.destroy()
        if (outcome === 'refused') {
          proc.reporter.refused(pathname, 'the Python sidecar could not receive the socket ' +
            '(NODE_HANDLE_NACK; is it at its limit of open files?)')
          return respond(socket, 503, 'WebSocket back end unavailable')
        }
        if (outcome === 'unanswered') {
          // The sidecar may hold the descriptor, or get it once its event loop runs again:
          // piping the connection as well would give it two servers, and closing only Node's
          // copy could leave the client waiting for good. A 503 ends it. The sidecar
          // acknowledges a descriptor before it writes anything to the client, so it has
          // written nothing yet, and the 503's shutdown makes its late answer fail (EPIPE)
          // instead of reaching the client.
          proc.reporter.refused(pathname, `the Python sidecar did not take the socket within ${ACK_TIMEOUT_MS / 1000} s`)
          return respond(socket, 503, 'WebSocket back end unavailable')
        }
        if (outcome === 'lost') {
          stale = info
          continue
        }
        pipeReason = 'the sidecar has not answered an earlier hand-over'
      }
      proc.reporter.debug(`${pathname}: pipe (${pipeReason})`)
      const failure = await pipe(proc, info, socket, req, head)
      if (failure === null) return
      if (gone()) return void socket.destroy()
      if (failure === 'EAGAIN' && proc.readyInfo() === info) {
        // Its listen queue is full: the process runs and its event loop does not. It takes
        // connections again when it answers the hand-over it left waiting; a queue full
        // without one (no hand-over: TLS) gives nothing to wait for.
        deadline ??= Date.now() + READY_WAIT_MS
        const answering = await answersAgain(child, Math.max(0, deadline - Date.now()))
        if (gone()) return void socket.destroy()
        if (answering) continue
        proc.reporter.refused(pathname, 'the Python sidecar does not accept connections ' +
          '(its Unix socket\'s queue is full: is its event loop blocked? see any stall warning)')
        return respond(socket, 503, 'WebSocket back end unavailable')
      }
      stale = info
    }
  }
}
