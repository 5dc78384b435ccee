// @ts-check
// vite-plugin-wsside: WebSocket upgrades under the prefix go to a Python sidecar (wsside)
// that Vite spawns and supervises. This file wires the pieces to Vite's hooks; it keeps no
// state of its own beyond each server's attachment (the sidecar lives in lib/sidecar.js,
// shared across Vite restarts by lib/registry.js).

import { existsSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import tls from 'node:tls'
import { resolveInterpreter } from './lib/interpreter.js'
import { normaliseOptions } from './lib/options.js'
import { acquireSidecar, releaseSidecar } from './lib/registry.js'
import { createReporter, OVERLAY_CLIENT } from './lib/report.js'
import { listensOnLoopbackOnly, socketFamily } from './lib/security.js'
import { createPlainRequestMiddleware, outsideBase } from './lib/plain.js'
import { createUpgradeListener } from './lib/upgrade.js'

/** @import * as Public from './index.js' */
/** @import { Server } from 'node:net' */
/** @import { PreviewServer, ProxyOptions, ViteDevServer, WebSocketServer } from 'vite' */
/** @import { Options } from './lib/options.js' */
/** @import { Logger, Reporter } from './lib/report.js' */
/** @import { SidecarProcess, SidecarSpec } from './lib/sidecar.js' */

/**
 * What the shim takes from a Vite server (or from attachWsside's options).
 * @typedef {object} HostContext
 * @property {string} root the folder of vite.config: ws/, wsside.toml and .venv are found from it
 * @property {Logger} logger
 * @property {WebSocketServer | null} hot Vite's HMR channel, for the overlay (dev server only)
 * @property {string[] | true | undefined} allowedHosts
 * @property {() => string | null} wsBase the browser-facing ws:// origin, once listening
 * @property {Record<string, string | ProxyOptions>} [proxy] Vite's `server.proxy` (or `preview.proxy`)
 */

/**
 * @typedef {object} Attachment
 * @property {() => Promise<void>} close
 * @property {SidecarProcess} sidecar
 * @property {Reporter} reporter
 * @property {() => string[]} prefixes
 */

const DEFAULT_PREFIXES = ['/api']
const ATTACHED = Symbol.for('vite-plugin-wsside.attached')
// The servers whose upgrades wsside routes, shared by every copy of this module in the
// process: vite.config and the user's own server code may each load one.
const holder = /** @type {{ [ATTACHED]?: WeakSet<object> }} */ (globalThis)
const attachedServers = (holder[ATTACHED] ??= new WeakSet())

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
  // One sidecar per distinct configuration in this Node process.
  return { ...spec, key: JSON.stringify(spec) }
}

/**
 * Routes upgrades of `httpServer` under the prefix to the sidecar. Returns `close()`,
 * which detaches and, for the last user of the sidecar, stops it (clients get 1001).
 * @param {Server} httpServer
 * @param {Options} options
 * @param {HostContext} vite
 * @returns {Attachment}
 */
function attach(httpServer, options, vite) {
  const root = vite.root
  const reporter = createReporter({ logger: vite.logger, hot: vite.hot, overlay: options.overlay, root, wsBase: vite.wsBase })
  const proc = acquireSidecar(sidecarSpec(options, root), reporter)
  // Where the server listens is read once, not for every upgrade (address() is a system
  // call). It is null until the server listens and cannot change after: closing detaches.
  /** @type {ReturnType<Server['address']>} */
  let address = null
  const listenAddress = () => (address ??= httpServer.address())
  const prefixes = () => options.prefixes ?? proc.info?.prefixes ?? DEFAULT_PREFIXES
  const listener = createUpgradeListener({
    sidecar: () => proc,
    prefixes,
    family: () => socketFamily(listenAddress()),
    security: {
      allowedHosts: vite.allowedHosts,
      // Like Vite: a TLS certificate already pins the host name, DNS rebinding cannot work.
      checkHost: !(httpServer instanceof tls.Server),
      allowedOrigins: options.allowedOrigins,
      loopbackOnly: () => listensOnLoopbackOnly(listenAddress()),
    },
    proxied: proxyRule(vite.proxy ?? {}, { webSocket: true }),
  })
  httpServer.on('upgrade', listener)
  attachedServers.add(httpServer)
  // The sidecar starts once a server listens (SidecarProcess.start).
  const listening = () => proc.serverListening()
  if (httpServer.listening) listening()
  else httpServer.once('listening', listening)
  /** @type {Promise<void> | null} */
  let detached = null
  const close = () => {
    if (!detached) {
      httpServer.off('listening', listening)
      httpServer.off('upgrade', listener)
      attachedServers.delete(httpServer)
      detached = releaseSidecar(proc, reporter)
    }
    return detached
  }
  // A Vite restart closes the old HTTP server without calling server.close().
  httpServer.once('close', close)
  return { close, sidecar: proc, reporter, prefixes }
}

/**
 * The key of the first of Vite's proxy rules that takes `url`, matched as Vite matches them
 * (a key starting with `^` is a RegExp, else a string prefix), or null. `webSocket`: only the
 * rules that forward upgrades, those with `ws: true` or a ws: target.
 * @param {Record<string, string | ProxyOptions>} proxy
 * @param {{ webSocket?: boolean }} [which]
 * @returns {(url: string) => string | null}
 */
function proxyRule(proxy, { webSocket = false } = {}) {
  const rules = Object.entries(proxy).flatMap(([key, rule]) => {
    const options = typeof rule === 'string' ? { target: rule } : rule
    const target = String(options.target ?? '')
    if (webSocket && !options.ws && !/^wss?:/.test(target)) return []
    const regex = key.startsWith('^') ? new RegExp(key) : null
    return [{ key, matches: (/** @type {string} */ url) => (regex ? regex.test(url) : url.startsWith(key)) }]
  })
  return (url) => rules.find((rule) => rule.matches(url))?.key ?? null
}

/**
 * @param {ViteDevServer | PreviewServer} server
 * @param {'server' | 'preview'} kind
 * @param {WebSocketServer | null} hot
 * @returns {HostContext}
 */
function viteContext(server, kind, hot) {
  const { config } = server
  // The origin only: Vite's URL ends with its `base` (`/app/`), and the prefix is not under it.
  const base = () => {
    const url = server.resolvedUrls?.local?.[0]
    return url ? new URL(url).origin.replace(/^http/, 'ws') : null
  }
  return {
    root: config.configFile ? path.dirname(config.configFile) : config.root,
    logger: config.logger,
    hot,
    allowedHosts: kind === 'server' ? config.server.allowedHosts : config.preview.allowedHosts,
    wsBase: base,
    proxy: kind === 'server' ? config.server.proxy : config.preview.proxy,
  }
}

/**
 * server.close() stops the sidecar *before* Vite destroys its sockets, so that piped
 * clients still receive the sidecar's 1001 close frame. Returns the post hook that adds the
 * plain-request middleware after Vite's own (lib/plain.js); with a `base` other than '/', one
 * more goes before them, for the URLs outside base.
 * @param {ViteDevServer | PreviewServer} server
 * @param {Attachment} attachment
 * @param {HostContext} vite
 */
function hookServer(server, attachment, vite) {
  const close = server.close
  server.close = async function wssideClose() {
    await attachment.close()
    return close.apply(this)
  }
  const printUrls = server.printUrls
  server.printUrls = function wssidePrintUrls() {
    const result = printUrls.apply(this)
    const info = attachment.sidecar.info
    if (info) {
      for (const line of attachment.reporter.handlerLines(info.handlers)) {
        server.config.logger.info(`  ➜  WebSocket: ${line}`)
      }
    }
    return result
  }
  const ctx = { sidecar: () => attachment.sidecar, prefixes: attachment.prefixes }
  const { base } = server.config
  if (base !== '/') server.middlewares.use(createPlainRequestMiddleware(ctx, outsideBase(base, proxyRule(vite.proxy ?? {}))))
  const plain = createPlainRequestMiddleware(ctx)
  return () => {
    server.middlewares.use(plain)
  }
}

/**
 * Whether `id` is Vite's client module (/@vite/client), whatever the package manager or npm
 * alias put it under.
 * @param {string} id
 * @param {string} code
 */
function isViteClient(id, code) {
  return /[\\/]dist[\\/]client[\\/]client\.mjs$/.test(id) && code.includes('function createHotContext(')
}

/**
 * In middleware mode, the http.Server Vite was given for its HMR socket (`server.hmr.server`),
 * if any: the server the pages talk to. Nuxt runs Vite so, on the server of `nuxi dev`.
 * @param {ViteDevServer} server
 * @returns {Server | null}
 */
function hmrHttpServer(server) {
  const { hmr } = server.config.server
  const candidate = typeof hmr === 'object' ? hmr.server : undefined
  return candidate instanceof net.Server ? candidate : null
}

/**
 * Middleware mode with `server.hmr.server`: wsside takes that server's upgrades as Vite takes
 * its HMR socket there, unless attachWsside already serves it. Closing Vite (a framework
 * restarting it) detaches; the server itself outlives it.
 * @param {ViteDevServer} server
 * @param {Server} httpServer
 * @param {Options} options
 */
function attachToHmrServer(server, httpServer, options) {
  if (attachedServers.has(httpServer)) return
  // No resolvedUrls in middleware mode: where the server listens, as Vite names it (localhost
  // for loopback and every interface: the page's origin must match for the Origin check).
  const wsBase = () => {
    const address = httpServer.address()
    if (!address || typeof address !== 'object') return null
    const named = listensOnLoopbackOnly(address) || ['::', '0.0.0.0'].includes(address.address)
    const host = named ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address
    return `${httpServer instanceof tls.Server ? 'wss' : 'ws'}://${host}:${address.port}`
  }
  const vite = viteContext(server, 'server', server.ws)
  // Nuxt 4 gives Vite its app/ folder as root, and has no vite.config: ws/, .venv and
  // wsside.toml are beside nuxt.config, in the folder of package.json.
  const root = packageFolder(vite.root) ?? vite.root
  const attachment = attach(httpServer, options, { ...vite, root, wsBase })
  const close = server.close
  server.close = async function wssideClose() {
    await attachment.close()
    return close.apply(this)
  }
}

/**
 * The nearest folder at or above `start` holding a package.json, or null.
 * @param {string} start
 * @returns {string | null}
 */
function packageFolder(start) {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) return null
  }
}

/**
 * Middleware mode: Vite has no HTTP server, and attachWsside is called (or not) on the
 * user's own once createServer has returned. The first request through Vite's middlewares
 * tells which server serves them; a warning if wsside is not attached to it.
 * @param {ViteDevServer} server
 */
function warnUnattached(server) {
  let checked = false
  server.middlewares.use((req, _res, next) => {
    if (!checked) {
      checked = true
      // Node's HTTP servers set `server` on the sockets they accept.
      const { server: httpServer } = /** @type {{ server?: Server }} */ (req.socket)
      if (!httpServer || !attachedServers.has(httpServer)) {
        server.config.logger.warn(
          '[wsside] Vite runs in middleware mode, so wsside cannot see WebSocket upgrades. ' +
            "Call attachWsside(yourHttpServer, options) from 'vite-plugin-wsside' on your own http.Server.",
        )
      }
    }
    next()
  })
}

/**
 * The Vite plugin.
 * @type {typeof Public.wsside}
 */
export function wsside(userOptions = {}) {
  const options = normaliseOptions(userOptions)
  return {
    name: 'vite-plugin-wsside',
    // Read by `wsside doctor` through Vite's resolveConfig: the options as normalised here.
    api: { options },
    // Applies to `vite build` too, for this define: the client (vite-plugin-wsside/client)
    // resolves paths under the first prefix, and a build served by `vite preview` must carry
    // it. Dev serves defines as globals, which the client reads. A prefix set only in
    // wsside.toml is read by the sidecar, too late for a define: the client assumes /api.
    // The overlay script below compiles to nothing in a build (no import.meta.hot there).
    config: (userConfig) => ({
      define: { __WSSIDE_PREFIX__: JSON.stringify(options.prefixes?.[0] ?? DEFAULT_PREFIXES[0]) },
      // Python's files are none of Vite's business: a virtual environment beside vite.config
      // is thousands of files for its watcher (and its share of the user's inotify watches),
      // and every reload writes bytecode under ws/__pycache__. Left alone when the user
      // turned watching off (`watch: null`): merging an object would turn it back on.
      ...(userConfig.server?.watch === null ? {} : { server: { watch: { ignored: pythonFiles(userConfig.root) } } }),
    }),
    // Into Vite's client module, not the HTML: every page with HMR loads the client, while
    // frameworks (SvelteKit, Astro, Nuxt, React Router) render their HTML without
    // transformIndexHtml, and SvelteKit warns about any plugin that has that hook.
    transform(code, id) {
      return options.overlay && isViteClient(id, code) ? { code: `${code}\n${OVERLAY_CLIENT}`, map: null } : null
    },
    configureServer(server) {
      if (server.httpServer) {
        const vite = viteContext(server, 'server', server.ws)
        return hookServer(server, attach(server.httpServer, options, vite), vite)
      }
      const hmrServer = hmrHttpServer(server)
      if (hmrServer) attachToHmrServer(server, hmrServer, options)
      else warnUnattached(server)
      return undefined
    },
    configurePreviewServer(server) {
      if (options.preview === false) return
      const vite = viteContext(server, 'preview', null)
      return hookServer(server, attach(server.httpServer, options, vite), vite)
    },
  }
}

/**
 * What Vite's file watcher skips: bytecode caches, and the virtual environments (folders
 * with a pyvenv.cfg) in the project's folder, where the interpreter rules look for them.
 * @param {string | undefined} root the user's `root` option
 * @returns {string[]}
 */
function pythonFiles(root) {
  const folders = new Set([process.cwd(), path.resolve(root ?? '.')])
  const venvs = [...folders].flatMap((folder) => ['.venv', 'venv'].map((name) => path.join(folder, name)))
    .filter((venv) => existsSync(path.join(venv, 'pyvenv.cfg')))
  // Globs: escape what glob syntax would read in a path (as Vite does for its cacheDir).
  return ['**/__pycache__/**', ...venvs.map((venv) => `${venv.replace(/[()[\]{}*?!+@]/g, '\\$&')}/**`)]
}

/**
 * For Vite's middleware mode or any `http.Server`/`https.Server` of your own: routes its
 * WebSocket upgrades under the prefix to the sidecar. `options` are the plugin's, plus
 * `root` (the folder holding ws/ and .venv, default the current directory), `logger`
 * (default console) and `allowedHosts` (default: localhost and IPs only).
 * Returns `{ close() }`; closing the server also detaches.
 * @type {typeof Public.attachWsside}
 */
export function attachWsside(httpServer, options = {}) {
  const { root = process.cwd(), logger = consoleLogger, allowedHosts = [], ...rest } = options
  if (attachedServers.has(httpServer)) {
    // Two listeners would both answer each upgrade.
    logger.warn('[wsside] attachWsside: wsside already serves the upgrades of this server (the plugin takes ' +
      "those of Vite's server.hmr.server in middleware mode, as under Nuxt), so this call does nothing: remove it")
    return { close: async () => {} }
  }
  const attachment = attach(httpServer, normaliseOptions(rest), {
    root: path.resolve(root),
    logger,
    hot: null,
    allowedHosts,
    wsBase: () => null,
  })
  return { close: attachment.close }
}

/** @type {Logger} */
const consoleLogger = {
  info: (msg) => console.log(msg),
  warn: (msg) => console.warn(msg),
  error: (msg) => console.error(msg),
}

export default wsside
