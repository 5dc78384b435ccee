// @ts-check
// Who may open a wsside WebSocket: the Host header must be one Vite accepts
// (`server.allowedHosts`, same rules as Vite's own check, which does not cover upgrades),
// and a browser's Origin must be this dev server or listed in `allowedOrigins`.

import net from 'node:net'

/** @import { IncomingMessage } from 'node:http' */
/** @import { AddressInfo } from 'node:net' */

/**
 * What `refusalReason` checks against.
 * @typedef {object} SecurityContext
 * @property {string[] | true | undefined} allowedHosts Vite's `server.allowedHosts` (Vite 5 leaves it undefined when unset)
 * @property {Array<string | RegExp | null>} allowedOrigins
 * @property {boolean} checkHost
 * @property {() => boolean} loopbackOnly
 */

/**
 * @param {string} hostHeader
 * @returns {{ ip: true } | { ip?: undefined, name: string } | null}
 */
function hostnameOf(hostHeader) {
  const host = hostHeader.trim()
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    return end > 0 && net.isIPv6(host.slice(1, end)) ? { ip: true } : null
  }
  const name = host.replace(/:\d*$/, '')
  return net.isIPv4(name) ? { ip: true } : { name: name.toLowerCase() }
}

/** @param {string} name a host name, lower case: localhost or one of its subdomains */
const isLocalhostName = (name) => name === 'localhost' || name.endsWith('.localhost')

/** @param {string} ip an IP address, IPv6 without brackets: a loopback one */
const isLoopbackIp = (ip) => ip === '::1' || (net.isIPv4(ip) && ip.startsWith('127.'))

/**
 * Vite's semantics: IPs, localhost and *.localhost always; `.example.com` = it and its subdomains.
 * @param {string | undefined} hostHeader
 * @param {string[] | true | undefined} allowedHosts
 */
export function hostAllowed(hostHeader, allowedHosts) {
  if (allowedHosts === true || hostHeader === undefined) return true
  const parsed = hostnameOf(hostHeader)
  if (parsed === null) return false
  if (parsed.ip) return true
  const { name } = parsed
  if (isLocalhostName(name)) return true
  return (allowedHosts ?? []).some((allowed) =>
    allowed.startsWith('.') ? name === allowed.slice(1) || name.endsWith(allowed) : name === allowed,
  )
}

/**
 * True when a server listening at `address` (what server.address() returns) accepts
 * connections on loopback addresses only.
 * @param {AddressInfo | string | null} address
 */
export function listensOnLoopbackOnly(address) {
  if (address === null || typeof address === 'string') return address !== null
  return isLoopbackIp(address.address.replace(/^::ffff:/, ''))
}

/**
 * @param {string} origin
 * @param {Array<string | RegExp | null>} allowedOrigins
 */
function originListed(origin, allowedOrigins) {
  return allowedOrigins.some((o) => {
    if (!(o instanceof RegExp)) return o === origin
    // A RegExp with the g or y flag keeps its place after a match (lastIndex), and its next
    // test() would start from there: the same origin would be refused every other time.
    o.lastIndex = 0
    return o.test(origin)
  })
}

/**
 * Compared as URLs so that a default port written out in `host` still matches. The origin
 * must be one as a browser writes it (scheme://host[:port], nothing after): a page never
 * sends a path, a query or a user.
 * @param {string} origin
 * @param {string} host
 */
function sameHost(origin, host) {
  try {
    const url = new URL(origin)
    return url.origin === origin && url.host === new URL(`${url.protocol}//${host}`).host
  } catch {
    return false // an opaque origin ("null") or garbage: only allowedOrigins can admit it
  }
}

/** @param {string} hostname as URL writes it (IPv6 in brackets) */
const isLoopbackName = (hostname) => isLocalhostName(hostname) || isLoopbackIp(hostname.replace(/^\[(.*)\]$/, '$1'))

/**
 * The same dev server under another loopback name: a page opened at http://127.0.0.1:5173
 * whose code says ws://localhost:5173 (both this machine, the same port).
 * @param {string} origin
 * @param {string} host
 */
function sameLoopbackServer(origin, host) {
  try {
    const page = new URL(origin)
    const asked = new URL(`${page.protocol}//${host}`)
    return page.origin === origin && page.port === asked.port &&
      isLoopbackName(page.hostname) && isLoopbackName(asked.hostname)
  } catch {
    return false
  }
}

/**
 * Why `req` must be refused (a sentence for the log), or null when it may pass.
 * @param {IncomingMessage} req
 * @param {SecurityContext} context
 * @returns {string | null}
 */
export function refusalReason(req, context) {
  const host = req.headers.host
  if (context.checkHost && !hostAllowed(host, context.allowedHosts)) {
    return `Host ${JSON.stringify(host)} is not allowed; add it to server.allowedHosts in vite.config`
  }
  const origin = req.headers.origin
  if (origin === undefined) {
    if (context.allowedOrigins.includes(null) || context.loopbackOnly()) return null
    return 'no Origin header while the dev server listens beyond loopback; add null to the ' +
      'allowedOrigins option of wsside() to accept non-browser clients'
  }
  if (originListed(origin, context.allowedOrigins)) return null
  if (host !== undefined && (sameHost(origin, host) || sameLoopbackServer(origin, host))) return null
  if (origin === 'null') {
    // An opaque origin: `null` (not the string) in allowedOrigins means "no Origin header".
    return `Origin "null" is not this dev server (${host}): a page opened as a file (file://) sends it, as a ` +
      'sandboxed frame does; open the page from the dev server (the string \'null\' in allowedOrigins would let ' +
      "in every website's sandboxed frames)"
  }
  return `Origin ${JSON.stringify(origin)} is not this dev server (${host}); add it to the allowedOrigins option of wsside()`
}

/**
 * The address family of the sockets a server listening at `address` accepts ('IPv4' or
 * 'IPv6'; undefined for a Unix socket or a server that does not listen).
 * @param {AddressInfo | string | null} address
 * @returns {'IPv4' | 'IPv6' | undefined}
 */
export function socketFamily(address) {
  const family = typeof address === 'object' ? address?.family : undefined
  return family === 'IPv4' || family === 'IPv6' ? family : undefined
}
