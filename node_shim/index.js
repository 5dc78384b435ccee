// @ts-check
// vite-plugin-wsside: WebSocket upgrades under the prefix go to a Python sidecar (wsside)
// that Vite spawns and supervises. This file wires the pieces to Vite's hooks (and
// attachWsside to a server of your own); it keeps no state of its own: a server's
// attachment is lib/attach.js's, middleware mode lib/middleware-mode.js's, and the sidecar
// lives in lib/sidecar.js (its exits, restarts and stop in lib/exits.js), shared across Vite
// restarts by lib/sidecars.js.

import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { attach, closeSidecarFirst, DEFAULT_PREFIXES, isAttached, proxyRule } from './lib/attach.js'
import { VENV_FOLDERS } from './lib/interpreter.js'
import { attachInMiddlewareMode, listeningBase } from './lib/middleware-mode.js'
import { normaliseAttachOptions } from './lib/attach-options.js'
import { normaliseOptions, underPrefix, WssideOptionError } from './lib/options.js'
import { VITE_RANGE } from './lib/protocol.js'
import { OVERLAY_CLIENT } from './lib/report.js'
import { createPlainRequestMiddleware, outsideBase } from './lib/plain.js'

/** @import * as Public from './index.js' */
/** @import { PreviewServer, ViteDevServer, WebSocketServer } from 'vite' */
/** @import { Attachment, HostContext } from './lib/attach.js' */
/** @import { Logger } from './lib/report.js' */

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
    kind: kind === 'server' ? 'dev' : 'preview',
    wsBase: base,
    proxy: kind === 'server' ? config.server.proxy : config.preview.proxy,
    base: config.base,
    watcher: kind === 'server' && 'watcher' in server ? server.watcher : undefined,
  }
}

/**
 * server.close() stops the sidecar first (closeSidecarFirst). Returns the post hook that adds the
 * plain-request middleware after Vite's own (lib/plain.js); with a `base` other than '/', one
 * more goes before them, for the URLs outside base.
 * @param {ViteDevServer | PreviewServer} server
 * @param {Attachment} attachment
 * @param {HostContext} vite
 */
function hookServer(server, attachment, vite) {
  closeSidecarFirst(server, attachment)
  const printUrls = server.printUrls
  server.printUrls = function wssidePrintUrls() {
    const result = printUrls.apply(this)
    const info = attachment.sidecar.info
    if (info) {
      for (const line of attachment.reporter.handlerLines(info.handlers, info.unloaded)) {
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
    // Last of the plugins' config hooks: what frameworks set (their scan entries, their
    // inputs) is in `userConfig` then.
    config: { order: 'post', handler: (userConfig) => ({
      define: { __WSSIDE_PREFIX__: JSON.stringify(options.prefixes?.[0] ?? DEFAULT_PREFIXES[0]) },
      // Python's files are none of Vite's business: a virtual environment beside vite.config
      // is thousands of files for its watcher (and its share of the user's inotify watches),
      // and Python writes bytecode under __pycache__ for what handlers import. Left alone when
      // the user turned watching off (`watch: null`): merging an object would turn it back on.
      ...(userConfig.server?.watch === null ? {} : { server: { watch: { ignored: pythonFiles(userConfig.root) } } }),
      // The client is plain ESM that imports nothing: served as it is. Else, installed in
      // node_modules, it is a dependency for Vite to pre-bundle, which a framework's pages
      // (SvelteKit, Nuxt, React Router: no HTML entry for Vite's scan) make Vite discover on
      // the first page load, then optimise and reload the page. Vite concatenates the lists.
      optimizeDeps: { exclude: ['vite-plugin-wsside/client'], ...scanEntries(userConfig) },
      // Server-rendered code that imports the client (a route, an island's page) gets it
      // bundled into the server build, its prefix defined: left as an import, it needs this
      // package at run time, which a production install without devDependencies lacks.
      ssr: { noExternal: ['vite-plugin-wsside'] },
    }) },
    // Into Vite's client module, not the HTML: every page with HMR loads the client, while
    // frameworks (SvelteKit, Astro, Nuxt, React Router) render their HTML without
    // transformIndexHtml, and SvelteKit warns about any plugin that has that hook.
    transform(code, id) {
      return options.overlay && isViteClient(id, code) ? { code: `${code}\n${OVERLAY_CLIENT}`, map: null } : null
    },
    // A Vite outside the peer range runs, without a word but npm's at install: one line here.
    configResolved(config) {
      if (config.command !== 'serve') return
      const version = viteVersion(/** @type {{ meta?: { viteVersion?: string } } | undefined} */ (this)?.meta, config.root)
      if (version !== null && !inRange(version, VITE_RANGE)) {
        config.logger.warn(`[wsside] Vite ${version} is not one vite-plugin-wsside supports (${VITE_RANGE}): ` +
          `npm install -D 'vite@${sameMajor(version, VITE_RANGE)}' (\`wsside doctor\` shows both)`)
      }
    },
    configureServer(server) {
      const vite = viteContext(server, 'server', server.ws)
      if (server.httpServer) return hookServer(server, attach(server.httpServer, options, vite), vite)
      attachInMiddlewareMode(server, options, vite)
      return undefined
    },
    configurePreviewServer(server) {
      if (options.preview === false) return offInPreview(server, options.prefixes ?? DEFAULT_PREFIXES)
      const vite = viteContext(server, 'preview', null)
      return hookServer(server, attach(server.httpServer, options, vite), vite)
    },
  }
}

/**
 * The version of the Vite that runs: Vite 7 and later say it to the hooks (`this.meta`); for
 * an older one, the `vite` package the project's root resolves (null when there is none).
 * @param {{ viteVersion?: string } | undefined} meta
 * @param {string} root
 * @returns {string | null}
 */
function viteVersion(meta, root) {
  if (typeof meta?.viteVersion === 'string') return meta.viteVersion
  try {
    const file = createRequire(path.join(root, 'package.json')).resolve('vite/package.json')
    const version = JSON.parse(readFileSync(file, 'utf8')).version
    return typeof version === 'string' ? version : null
  } catch {
    return null
  }
}

/**
 * Whether `version` is in `range`, a peer range of caret ranges (`^5.4.12 || ^6.0.9`); a
 * range of another form counts as met (nothing to warn about without knowing).
 * @param {string} version
 * @param {string} range
 */
function inRange(version, range) {
  const numbers = (/** @type {string} */ v) => /^(\d+)\.(\d+)\.(\d+)/.exec(v)?.slice(1, 4).map(Number)
  const have = numbers(version)
  if (have === undefined) return true
  return range.split('||').some((alternative) => {
    const caret = /^\s*\^(.+?)\s*$/.exec(alternative)
    const low = caret ? numbers(caret[1]) : undefined
    if (low === undefined) return true
    // ^x.y.z: at least x.y.z, below the next x (x > 0), else below the next 0.y (y > 0), else 0.0.z.
    const fixed = low[0] > 0 ? 1 : low[1] > 0 ? 2 : 3
    if (have.slice(0, fixed).join('.') !== low.slice(0, fixed).join('.')) return false
    for (let i = 0; i < 3; i++) if (have[i] !== low[i]) return have[i] > low[i]
    return true
  })
}

/**
 * The alternatives of `range` on the major line of `version` (`^5.4.12` of `^5.4.12 || ^6.0.9`
 * for a Vite 5): given the whole range, npm would install the newest major. The whole range
 * when none is, as `wsside doctor`'s vite check says it.
 * @param {string} version
 * @param {string} range
 */
function sameMajor(version, range) {
  const major = /^\d+/.exec(version)?.[0]
  const ours = range.split('||').map((a) => a.trim()).filter((a) => major !== undefined && /^[\^~>=v\s]*(\d+)(?!\d)/.exec(a)?.[1] === major)
  return ours.length > 0 ? ours.join(' || ') : range
}

/**
 * `preview: false`: an upgrade under the prefix would get the built page (Node gives an upgrade
 * that no listener takes to the request handlers, and the SPA fallback answers 200), and the
 * page would reconnect for good without a word. It gets a 503, and the terminal one line.
 * Left alone when `preview.proxy` is set: the user sends the prefix elsewhere.
 * @param {PreviewServer} server
 * @param {string[]} prefixes
 * @returns {undefined}
 */
function offInPreview(server, prefixes) {
  if (Object.keys(server.config.preview.proxy ?? {}).length > 0) return undefined
  let told = false
  server.middlewares.use((req, res, next) => {
    const pathname = (req.url ?? '').split('?')[0]
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || !underPrefix(pathname, prefixes)) return next()
    if (!told) {
      told = true
      server.config.logger.warn(`[wsside] refused ${pathname}: wsside() has preview: false, so vite preview serves ` +
        'no handlers (take the option out to serve them here)')
    }
    res.statusCode = 503
    res.setHeader('Connection', 'close')
    res.end('wsside does not serve under vite preview here (the plugin\'s preview option is false)\n')
  })
  return undefined
}

/**
 * The virtual environments (folders with a pyvenv.cfg) in the project's folder, where the
 * interpreter rules look for them: the current directory and `root`.
 * @param {string | undefined} root the user's `root` option
 * @returns {string[]}
 */
function pythonEnvironments(root) {
  const folders = new Set([process.cwd(), path.resolve(root ?? '.')])
  return [...folders].flatMap((folder) => VENV_FOLDERS.map((name) => path.join(folder, name)))
    .filter((venv) => existsSync(path.join(venv, 'pyvenv.cfg')))
}

/** A path as a glob matching it literally (as Vite escapes its cacheDir). */
const literalGlob = (/** @type {string} */ file) => file.replace(/[()[\]{}*?!+@]/g, '\\$&')

/**
 * What Vite's file watcher skips: bytecode caches, and the virtual environments.
 * @param {string | undefined} root the user's `root` option
 * @returns {string[]}
 */
function pythonFiles(root) {
  return ['**/__pycache__/**', ...pythonEnvironments(root).map((venv) => `${literalGlob(venv)}/**`)]
}

/**
 * Vite's dependency scan starts from every .html file under `root` but those in node_modules
 * and outDir: in a virtual environment whose name has no dot (`venv/`), a Python package that
 * ships a built web UI (an .html loading a script that imports packages it bundled) fails the
 * scan, and Vite skips pre-bundling. The same default, without the virtual environments under
 * `root` (and without the folders Vite leaves out only by default, __tests__ and coverage);
 * nothing when the user or another plugin chose the entries, or the inputs Vite scans instead.
 * @param {import('vite').UserConfig} config
 * @returns {{ entries?: string[] }}
 */
function scanEntries(config) {
  /** @param {any} options Vite's top level or an environment's (`input` is Vite 8's, `rollupOptions` 5's to 7's) */
  const chosen = (options) => options?.optimizeDeps?.entries || options?.input ||
    options?.build?.rollupOptions?.input || options?.build?.rolldownOptions?.input
  if ([config, ...Object.values(config.environments ?? {})].some(chosen)) return {}
  const root = path.resolve(config.root ?? '.')
  const inside = pythonEnvironments(config.root).map((venv) => path.relative(root, venv))
    .filter((relative) => relative && !relative.startsWith('..') && !path.isAbsolute(relative))
  if (inside.length === 0) return {}
  const skipped = ['**/__tests__', '**/coverage', ...inside.map((relative) => literalGlob(relative.split(path.sep).join('/')))]
  return { entries: ['**/*.html', ...skipped.map((folder) => `!${folder}/**`)] }
}

// `plugins: [wsside]` (not called) puts this function itself among the plugins, where Vite
// reads its `config` hook: say what to write, instead of a dev server without wsside.
wsside.config = () => {
  throw new WssideOptionError('wsside: vite.config has plugins: [wsside], the function itself: call it, plugins: [wsside()]')
}

/**
 * For Vite's middleware mode or any `http.Server`/`https.Server` of your own: routes its
 * WebSocket upgrades under the prefix to the sidecar. `options` are the plugin's, plus
 * `root` (the folder holding ws/ and .venv, default the current directory), `logger`
 * (default console) and `allowedHosts` (as Vite's server.allowedHosts, true or a list of host
 * names; default: localhost and IPs only), all checked here (lib/attach-options.js).
 * Returns `{ close() }`; closing the server also detaches.
 * @type {typeof Public.attachWsside}
 */
export function attachWsside(httpServer, options = {}) {
  // Checked before anything is attached: a wrong one throws here, one line naming it.
  const { options: checked, root, logger, allowedHosts } = normaliseAttachOptions(options, consoleLogger)
  if (isAttached(httpServer)) {
    // Two listeners would both answer each upgrade.
    logger.warn('[wsside] attachWsside: wsside already serves the upgrades of this server (the plugin takes ' +
      "those of Vite's server.hmr.server in middleware mode, as under Nuxt), so this call does nothing: remove it")
    return { close: async () => {} }
  }
  const attachment = attach(httpServer, checked, {
    root,
    logger,
    hot: null,
    allowedHosts,
    kind: 'attachWsside',
    wsBase: () => listeningBase(httpServer),
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
