// @ts-check
// One HTTP server's attachment: its upgrades under the prefix go to the sidecar of its
// configuration (held through lib/sidecars.js while attached), and the process-wide set of
// the servers wsside serves, so that no server gets two listeners. The plugin's hooks
// (index.js), middleware mode (lib/middleware-mode.js) and attachWsside all attach here.
// Also: the endpoints listed under every prefix, and, after a dev server restart that moved
// the prefix, an answer for the pages still using the old one (movedPrefix).

import { statSync } from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import { resolveInterpreter } from './interpreter.js'
import { acquireSidecar, releaseSidecar } from './sidecars.js'
import { createReporter } from './report.js'
import { underPrefix } from './options.js'
import { listensOnLoopbackOnly, socketFamily } from './security.js'
import { asWritten, createUpgradeListener, pathnameOf, TAKEN } from './upgrade.js'
import { takeUpgradesFirst } from './upgrades-first.js'
import { restoreTypesFile, TYPES_FILE } from './types-file.js'

/** @import { IncomingMessage } from 'node:http' */
/** @import { Server } from 'node:net' */
/** @import { Duplex } from 'node:stream' */
/** @import { UpgradeListener } from './upgrades-first.js' */
/** @import { FSWatcher, ProxyOptions, WebSocketServer } from 'vite' */
/** @import { Options } from './options.js' */
/** @import { Logger, Reporter } from './report.js' */
/** @import { SidecarProcess, SidecarSpec } from './sidecar.js' */
/** @import { HandlerInfo } from './protocol.js' */
/** @import { ServerKind } from './security.js' */

/**
 * What the shim takes from a Vite server (or from attachWsside's options).
 * @typedef {object} HostContext
 * @property {string} root the folder of vite.config: ws/, wsside.toml and .venv are found from it
 * @property {Logger} logger
 * @property {WebSocketServer | null} hot Vite's HMR channel, for the overlay (dev server only)
 * @property {string[] | true | undefined} allowedHosts
 * @property {ServerKind} [kind] which server it is, for the settings its refusals name
 * @property {() => string | null} wsBase the browser-facing ws:// origin, once listening
 * @property {Record<string, string | ProxyOptions>} [proxy] Vite's `server.proxy` (or `preview.proxy`)
 * @property {string} [base] Vite's `base` (`/app/`), which does not move the prefix
 * @property {FSWatcher} [watcher] Vite's file watcher (dev server only)
 */

/**
 * @typedef {object} Attachment
 * @property {() => Promise<void>} close
 * @property {SidecarProcess} sidecar
 * @property {Reporter} reporter
 * @property {() => string[]} prefixes
 */

export const DEFAULT_PREFIXES = ['/api']
const ATTACHED = Symbol.for('vite-plugin-wsside.attached')
// The servers whose upgrades wsside routes, shared by every copy of this module in the
// process: vite.config and the user's own server code may each load one.
const SERVED = Symbol.for('vite-plugin-wsside.served-prefixes')
/** @typedef {{ prefixes: () => string[], handlers: () => HandlerInfo[], configured: string[] | undefined }} Served */
const holder = /** @type {{ [ATTACHED]?: WeakSet<object>, [SERVED]?: Map<string, Served> }} */ (globalThis)
const attachedServers = (holder[ATTACHED] ??= new WeakSet())
// What the latest dev server of each project (its root) serves, read by the next one: a Vite
// restart attaches its new server before it closes the old one.
const servedPrefixes = (holder[SERVED] ??= new Map())

/**
 * Makes `server.close()` (a Vite dev or preview server's) stop the sidecar first, *before*
 * Vite destroys its sockets, so that piped clients still receive the sidecar's 1001 close
 * frame.
 * @param {{ close(): Promise<void> }} server
 * @param {Attachment} attachment
 */
export function closeSidecarFirst(server, attachment) {
  const close = server.close
  server.close = async function wssideClose() {
    await attachment.close()
    return close.apply(this)
  }
}

/**
 * Whether wsside routes the upgrades of `server` already.
 * @param {object} server
 */
export function isAttached(server) {
  return attachedServers.has(server)
}

/**
 * @param {Options} options
 * @param {string} root
 * @returns {SidecarSpec}
 */
function sidecarSpec(options, root) {
  const { python, rule, chosenBy } = resolveInterpreter(root, options.python)
  const args = ['-m', 'wsside', 'serve', '--ipc']
  if (options.handlers) args.push('--handlers', path.resolve(root, options.handlers))
  for (const prefix of options.prefixes ?? []) args.push('--prefix', prefix)
  if (options.config) args.push('--config', path.resolve(root, options.config))
  const spec = { python, rule, chosenBy, args, cwd: root, env: options.env }
  // What the terminal names when a vite.config edit changes it (lib/sidecars.js).
  const given = { python, handlers: options.handlers, prefix: options.prefixes, config: options.config, env: options.env }
  // One sidecar per distinct configuration in this Node process.
  return { ...spec, given, key: JSON.stringify(spec) }
}

// The watcher's events for a file saved, created or deleted, and the files whose save may
// fix a sidecar that crashed (Python files: Vite's watcher leaves out .venv and __pycache__).
const SAVES = ['change', 'add', 'unlink']
const FIX_FILES = /(\.py|[\\/]wsside\.toml|[\\/]pyproject\.toml)$/
const CONFIG_NAMES = ['wsside.toml', 'pyproject.toml']

/**
 * The config files the sidecar may read (`wsside serve` finds one beside vite.config, else
 * beside the handlers folder; or the `config` option names it, or the folder it is in).
 * @param {Options} options
 * @param {string} root
 * @param {string} handlers the handlers folder
 * @returns {string[]}
 */
function configFiles(options, root, handlers) {
  const given = options.config ? path.resolve(root, options.config) : null
  if (given !== null && !isFolder(given)) return [given]
  const folders = new Set(given === null ? [root, path.dirname(handlers)] : [given])
  return [...folders].flatMap((folder) => CONFIG_NAMES.map((name) => path.join(folder, name)))
}

/** @param {string} file */
function isFolder(file) {
  try {
    return statSync(file).isDirectory()
  } catch {
    return false // not there (yet), or not reachable: the sidecar says why
  }
}

/**
 * Routes upgrades of `httpServer` under the prefix to the sidecar. Returns `close()`,
 * which detaches and, for the last user of the sidecar, stops it (clients get 1001).
 * @param {Server} httpServer
 * @param {Options} options
 * @param {HostContext} vite
 * @returns {Attachment}
 */
export function attach(httpServer, options, vite) {
  const root = vite.root
  const proxied = proxyRule(vite.proxy ?? {}, { webSocket: true })
  const reporter = createReporter({ logger: vite.logger, hot: vite.hot, overlay: options.overlay, root, wsBase: vite.wsBase, proxied })
  const proc = acquireSidecar(sidecarSpec(options, root), reporter)
  // The sidecar's table gives each endpoint's URL under its first prefix; the lists of
  // endpoints (at `ready`, under Vite's URLs) name it under each prefix.
  const lines = reporter.handlerLines
  reporter.handlerLines = (handlers, unloaded) => lines(underEachPrefix(handlers, proc.info?.prefixes ?? []), unloaded)
  // Where the server listens is read once, not for every upgrade (address() is a system
  // call). It is null until the server listens and cannot change after: closing detaches.
  /** @type {ReturnType<Server['address']>} */
  let address = null
  const listenAddress = () => (address ??= httpServer.address())
  const prefixes = () => options.prefixes ?? proc.info?.prefixes ?? DEFAULT_PREFIXES
  // Dev servers only (those with HMR: Vite restarts them, and reloads their pages).
  const previous = vite.hot ? servedPrefixes.get(root) : undefined
  // Read now, while the previous server (a restart's) still runs.
  const before = { prefixes: previous?.prefixes() ?? [], handlers: previous?.handlers() ?? [] }
  if (vite.hot) {
    servedPrefixes.set(root, { prefixes, handlers: () => proc.info?.handlers ?? [], configured: options.prefixes })
  }
  // Only a restart whose vite.config set another prefix moved it: one that kept the option
  // (a prefix in wsside.toml may move later, without a restart, and reloads no page).
  const movedByConfig = previous !== undefined && String(previous.configured) !== String(options.prefixes)
  const upgrade = createUpgradeListener({
    sidecar: () => proc,
    prefixes,
    family: () => socketFamily(listenAddress()),
    security: {
      allowedHosts: vite.allowedHosts,
      // Like Vite: a TLS certificate already pins the host name, DNS rebinding cannot work.
      checkHost: !(httpServer instanceof tls.Server),
      allowedOrigins: options.allowedOrigins,
      kind: vite.kind,
      loopbackOnly: () => listensOnLoopbackOnly(listenAddress()),
    },
    proxied,
    base: vite.base,
    clientPrefix: options.prefixes === null ? DEFAULT_PREFIXES[0] : undefined,
  })
  // Only after a restart (a previous server of this root): every other upgrade goes straight
  // to the upgrade listener, as the hand-over's cost per connection is measured.
  const moved = movedByConfig && before.prefixes.length > 0 ? movedPrefix(before, prefixes, proc, proxied) : null
  /** @type {UpgradeListener} */
  const listener = moved === null ? upgrade : (req, socket, head) => {
    if (moved(req, socket)) /** @type {IncomingMessage & { [TAKEN]?: true }} */ (req)[TAKEN] = true
    else void upgrade(req, socket, head)
  }
  const detachListener = takeUpgradesFirst(httpServer, listener)
  attachedServers.add(httpServer)
  // A save that may fix a sidecar that failed starts it again (lib/exits.js): a Python file,
  // the config file. Vite's watcher watches its root: the handlers folder, the config files
  // and the folders of the handler files the sidecar names (a handlers folder set in the
  // config file) are added to it, as a monorepo has them outside (apps/api beside apps/web).
  // A file there that no page imports changes nothing in Vite: no reload, no line.
  const handlers = path.resolve(root, options.handlers ?? 'ws')
  const configs = new Set(configFiles(options, root, handlers))
  const watcher = vite.watcher
  // The types file too: beside vite.config, outside Vite's `root` when that is `src` say.
  watcher?.add([handlers, ...configs, path.join(root, TYPES_FILE)])
  const unwatchFolders = watcher ? proc.onHandlerFolder((folder) => void watcher.add(folder)) : () => {}
  const saved = (/** @type {string} */ file) => {
    if (FIX_FILES.test(file) || configs.has(file)) proc.startAgain(reporter.rel(file))
  }
  for (const event of SAVES) watcher?.on(event, saved)
  const typesGone = (/** @type {string} */ file) => restoreTypesFile(root, file, reporter)
  watcher?.on('unlink', typesGone)
  // The sidecar starts once a server listens (SidecarProcess.serverListening).
  const listening = () => proc.serverListening()
  if (httpServer.listening) listening()
  else httpServer.once('listening', listening)
  /** @type {Promise<void> | null} */
  let detached = null
  const close = () => {
    if (!detached) {
      httpServer.off('listening', listening)
      httpServer.off('close', close) // a server that outlives this attachment keeps no closure of it
      detachListener()
      for (const event of SAVES) watcher?.off(event, saved)
      watcher?.off('unlink', typesGone)
      unwatchFolders()
      attachedServers.delete(httpServer)
      // What this server's reporter counted and has not written yet goes out now.
      detached = releaseSidecar(proc, reporter).finally(() => reporter.flush())
    }
    return detached
  }
  // A Vite restart closes the old HTTP server without calling server.close().
  httpServer.once('close', close)
  return { close, sidecar: proc, reporter, prefixes }
}

/**
 * `handlers` (the sidecar's table, each `path` under the first prefix) with each endpoint
 * once under every prefix, in the order of the prefixes.
 * @param {HandlerInfo[]} handlers
 * @param {string[]} prefixes
 * @returns {HandlerInfo[]}
 */
export function underEachPrefix(handlers, prefixes) {
  if (prefixes.length < 2) return handlers
  return prefixes.flatMap((prefix) => handlers.map((h) => ({ ...h, path: prefix + h.pattern })))
}

/**
 * After a vite.config edit that moved the prefix (`/api` to `/v2`), a page loaded before it
 * still connects under the old one, which no one answers any more: the browser holds its
 * connection attempt for the client's whole timeout, and Chromium opens one WebSocket to a
 * host at a time, so Vite 6's client, whose check for the restarted server is a WebSocket,
 * waits behind it before it reloads the page. An upgrade to an endpoint under a prefix that
 * the project's previous server had and this one has not gets 404 at once, and one line says
 * why. Returns true for the upgrades it answered.
 * @param {{ prefixes: string[], handlers: HandlerInfo[] }} before what the previous attachment
 *   for this root served
 * @param {() => string[]} prefixes this one's
 * @param {SidecarProcess} proc
 * @param {(url: string) => string | null} proxied
 * @returns {(req: IncomingMessage, socket: Duplex) => boolean}
 */
function movedPrefix(before, prefixes, proc, proxied) {
  /** @type {Set<string>} the old prefixes already named in the log */
  const named = new Set()
  return (req, socket) => {
    const pathname = pathnameOf(req.url ?? '/')
    const now = prefixes()
    const old = before.prefixes.find((p) => !now.includes(p) && underPrefix(pathname, [p]))
    if (old === undefined || underPrefix(pathname, now)) return false
    // Vite's own sockets (HMR and its ping: `vite-` subprotocols, under an old prefix '') and
    // what its server.proxy forwards are theirs.
    const vites = /\bvite-(hmr|ping)\b/.test(req.headers['sec-websocket-protocol'] ?? '')
    if (vites || proxied(req.url ?? '/') !== null) return false
    if (!isEndpointPath(asWritten(pathname.slice(old.length)), [...before.handlers, ...proc.info?.handlers ?? []])) return false
    if (!named.has(old)) {
      named.add(old)
      proc.reporter.info(`${pathname}: answered 404: vite.config moved wsside's prefix from ${old || "''"} to ` +
        `${now.join(', ') || "''"}, and a page loaded before the change still connects under ${old || "''"} ` +
        '(Vite reloads its pages after a restart)')
    }
    socket.on('error', () => socket.destroy())
    const body = `no WebSocket endpoint here any more: wsside's prefix is now ${now.join(', ') || "''"}\n`
    socket.end(`HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
    return true
  }
}

/**
 * Whether `rest` (a path after a prefix) may be one of the endpoints' paths: their patterns
 * read loosely (a variable or `**` takes anything, `*` and `?` anything within a segment).
 * @param {string} rest
 * @param {HandlerInfo[]} handlers
 */
function isEndpointPath(rest, handlers) {
  return handlers.some((h) => looseRegExp(h.pattern).test(rest))
}

/** @param {string} pattern an Ant-style pattern (sidecar/wsside/pattern.py) */
function looseRegExp(pattern) {
  const parts = pattern.split(/(\{(?:[^{}]|\{[^{}]*\})*\}|\*\*|\*|\?)/)
  const source = parts.map((part, i) => {
    if (i % 2 === 0) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    return part.startsWith('{') || part === '**' ? '.*' : part === '*' ? '[^/]*' : '[^/]'
  }).join('')
  return new RegExp(`^${source}$`)
}

/**
 * The key of the first of Vite's proxy rules that takes `url`, matched as Vite matches them
 * (a key starting with `^` is a RegExp, else a string prefix), or null. `webSocket`: only the
 * rules that forward upgrades, those with `ws: true` or a ws: target.
 * @param {Record<string, string | ProxyOptions>} proxy
 * @param {{ webSocket?: boolean }} [which]
 * @returns {(url: string) => string | null}
 */
export function proxyRule(proxy, { webSocket = false } = {}) {
  const rules = Object.entries(proxy).flatMap(([key, rule]) => {
    const options = typeof rule === 'string' ? { target: rule } : rule
    const target = String(options.target ?? '')
    if (webSocket && !options.ws && !/^wss?:/.test(target)) return []
    const regex = key.startsWith('^') ? new RegExp(key) : null
    return [{ key, matches: (/** @type {string} */ url) => (regex ? regex.test(url) : url.startsWith(key)) }]
  })
  return (url) => rules.find((rule) => rule.matches(url))?.key ?? null
}
