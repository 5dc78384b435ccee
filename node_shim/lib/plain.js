// @ts-check
// A plain HTTP GET for an endpoint's URL (typed into the address bar, fetched by mistake)
// gets the sidecar's answer, `426 Upgrade Required`, instead of the app's index.html. It runs
// after Vite's own middlewares (server.proxy, static files), so whatever of the user's
// serves the URL still does; only what would fall to the SPA fallback or a 404 is asked
// about. The sidecar routes the path as it routes upgrades: one matcher for both.

import http from 'node:http'
import { underPrefix } from './options.js'
import { SECRET_HEADER, pathnameOf } from './upgrade.js'

/** @import { IncomingMessage, ServerResponse } from 'node:http' */
/** @import { UpgradeContext } from './upgrade.js' */

// The sidecar answers within a millisecond; one whose event loop is blocked (a handler's
// blocking call) does not answer at all, and the request must not wait for it: it goes on
// to Vite, as when the sidecar is not ready.
export const ANSWER_TIMEOUT_MS = 1_000

/**
 * @param {Pick<UpgradeContext, 'sidecar' | 'prefixes'>} ctx
 * @returns {(req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next: () => void) => void}
 */
export function createPlainRequestMiddleware(ctx) {
  return function wssidePlainRequest(req, res, next) {
    // Vite's SPA fallback has already rewritten `url` to /index.html; `originalUrl` is the asked one.
    const url = req.originalUrl ?? req.url ?? '/'
    const proc = ctx.sidecar()
    const info = proc.readyInfo()
    if (req.method !== 'GET' || info === null || !underPrefix(pathnameOf(url), ctx.prefixes())) {
      next()
      return
    }
    let passed = false
    const pass = () => {
      if (!passed) next()
      passed = true
    }
    const ask = http.request({ socketPath: info.socket, path: url, headers: { [SECRET_HEADER]: proc.secret } })
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
      res.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket', Connection: 'Upgrade' })
      answer.pipe(res)
    })
    ask.end()
  }
}
