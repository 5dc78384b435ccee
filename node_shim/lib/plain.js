// @ts-check
// A plain HTTP GET for an endpoint's URL (typed into the address bar, fetched by mistake)
// gets the sidecar's answer, `426 Upgrade Required`, instead of the app's index.html. It runs
// after Vite's own middlewares (server.proxy, static files), so whatever of the user's
// serves the URL still does; only what would fall to the SPA fallback or a 404 is asked
// about. The sidecar routes the path as it routes upgrades: one matcher for both.
//
// With a `base` other than '/' (`/app/`), the prefix is outside it (it starts at the host's
// root, as upgrades do), and Vite's base middleware answers every URL outside base with a 404
// whose hint ("did you mean /app/api/echo?") points at nothing. Those URLs are asked about by
// a second instance placed before Vite's own middlewares (outsideBase).

import http from 'node:http'
import { underPrefix } from './options.js'
import { pathnameOf } from './upgrade.js'
import { peerHeader, SECRET_HEADER } from './wire.js'

/** @import { IncomingMessage, ServerResponse } from 'node:http' */
/** @import { UpgradeContext } from './upgrade.js' */

// The sidecar answers within a millisecond; one whose event loop is blocked (a handler's
// blocking call) does not answer at all, and the request must not wait for it: it goes on
// to Vite, as when the sidecar is not ready.
export const ANSWER_TIMEOUT_MS = 1_000

/**
 * @param {Pick<UpgradeContext, 'sidecar' | 'prefixes'>} ctx
 * @param {(url: string) => boolean} [mine] which URLs under the prefix this instance asks
 *   about; every one by default
 * @returns {(req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next: () => void) => void}
 */
export function createPlainRequestMiddleware(ctx, mine = () => true) {
  return function wssidePlainRequest(req, res, next) {
    // Vite's SPA fallback has already rewritten `url` to /index.html; `originalUrl` is the asked one.
    const url = req.originalUrl ?? req.url ?? '/'
    const proc = ctx.sidecar()
    const info = proc.readyInfo()
    if (req.method !== 'GET' || info === null || !underPrefix(pathnameOf(url), ctx.prefixes()) || !mine(url)) {
      next()
      return
    }
    let passed = false
    const pass = () => {
      if (!passed) next()
      passed = true
    }
    // The client's address goes as on the pipe, for the access line of the 426.
    const headers = Object.fromEntries([[SECRET_HEADER, proc.secret], ...peerHeader(req.socket)])
    const ask = http.request({ socketPath: info.socket, path: url, headers })
    const late = setTimeout(() => {
      proc.reporter.debug(`${pathnameOf(url)}: the sidecar did not answer within ${ANSWER_TIMEOUT_MS} ms; left to Vite`)
      ask.destroy()
      pass()
    }, ANSWER_TIMEOUT_MS)
    ask.on('error', pass)
    ask.on('close', () => clearTimeout(late))
    ask.on('response', (answer) => {
      clearTimeout(late)
      if (answer.statusCode !== 426) {
        answer.resume()
        pass()
        return
      }
      passed = true
      const versions = answer.headers['sec-websocket-version'] ?? '13'
      res.writeHead(426, {
        'Content-Type': 'text/plain; charset=utf-8',
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Version': versions,
      })
      answer.pipe(res)
    })
    ask.end()
  }
}

/**
 * For the instance before Vite's own middlewares: the URLs that Vite's base middleware would
 * answer with its 404, so that nothing of the user's is passed over. That is every URL outside
 * `base` except `/` and `/index.html` (redirected to base) and those a `server.proxy` rule
 * takes (the proxy comes before the base middleware). A plugin's own middleware listed after
 * wsside's for the same URL would be passed over, but only for an endpoint's URL.
 * @param {string} base Vite's resolved `base`, with its trailing slash (`/app/`)
 * @param {(url: string) => string | null} proxied the key of the proxy rule that takes a URL, or null
 * @returns {(url: string) => boolean}
 */
export function outsideBase(base, proxied) {
  return (url) => {
    const pathname = pathnameOf(url)
    const underBase = pathname.startsWith(base) || pathname === base.slice(0, -1)
    return !underBase && pathname !== '/' && pathname !== '/index.html' && proxied(url) === null
  }
}
