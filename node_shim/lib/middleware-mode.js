// @ts-check
// Vite in middleware mode has no HTTP server of its own to take upgrades from. When it was
// given one for its HMR socket (`server.hmr.server`: Nuxt, Storybook), wsside attaches to
// that server; otherwise the user's own server needs attachWsside, and the first request
// through Vite's middlewares tells whether it was called.

import { existsSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import tls from 'node:tls'
import { attach, closeSidecarFirst, isAttached } from './attach.js'
import { listensOnLoopbackOnly } from './security.js'

/** @import { Server } from 'node:net' */
/** @import { ViteDevServer } from 'vite' */
/** @import { HostContext } from './attach.js' */
/** @import { Options } from './options.js' */

/**
 * The ws:// origin of `httpServer` once it listens (null before), for the endpoint lines: no
 * resolvedUrls in middleware mode, so where the server listens, as Vite names it (localhost
 * for loopback and every interface: the page's origin must match for the Origin check).
 * @param {Server} httpServer
 * @returns {string | null}
 */
export function listeningBase(httpServer) {
  const address = httpServer.address()
  if (!address || typeof address !== 'object') return null
  const named = listensOnLoopbackOnly(address) || ['::', '0.0.0.0'].includes(address.address)
  const host = named ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `${httpServer instanceof tls.Server ? 'wss' : 'ws'}://${host}:${address.port}`
}

/**
 * Middleware mode: attaches to the server Vite was given for HMR, or watches for a request
 * that shows which server serves Vite's middlewares (see warnUnattached).
 * @param {ViteDevServer} server
 * @param {Options} options
 * @param {HostContext} vite what the plugin takes from `server`
 */
export function attachInMiddlewareMode(server, options, vite) {
  const hmrServer = hmrHttpServer(server)
  if (hmrServer) attachToHmrServer(server, hmrServer, options, vite)
  else warnUnattached(server)
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
 * @param {HostContext} vite
 */
function attachToHmrServer(server, httpServer, options, vite) {
  if (isAttached(httpServer)) return
  const wsBase = () => listeningBase(httpServer)
  // Nuxt 4 gives Vite its app/ folder as root, and has no vite.config: ws/, .venv and
  // wsside.toml are beside nuxt.config, in the folder of package.json.
  const root = packageFolder(vite.root) ?? vite.root
  closeSidecarFirst(server, attach(httpServer, options, { ...vite, root, wsBase }))
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
      if (!httpServer || !isAttached(httpServer)) {
        server.config.logger.warn(
          '[wsside] Vite runs in middleware mode, so wsside cannot see WebSocket upgrades. ' +
            "Call attachWsside(yourHttpServer, options) from 'vite-plugin-wsside' on your own http.Server.",
        )
      }
    }
    next()
  })
}
