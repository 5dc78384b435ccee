// @ts-check
// Who may open a wsside WebSocket: the Host header must be one Vite accepts
// (`server.allowedHosts`, same rules as Vite's own check, which does not cover upgrades),
// and a browser's Origin must be this dev server (directly, or through a forwarder that
// names it in X-Forwarded-Host) or listed in `allowedOrigins`.

import net from 'node:net'
import tls from 'node:tls'

/** @import { IncomingMessage } from 'node:http' */
/** @import { AddressInfo } from 'node:net' */

/**
 * What `refusalReason` checks against.
 * @typedef {object} SecurityContext
 * @property {string[] | true | undefined} allowedHosts Vite's `server.allowedHosts` (Vite 5 leaves it undefined when unset)
 * @property {Array<string | RegExp | null>} allowedOrigins
 * @property {boolean} checkHost
 * @property {() => boolean} loopbackOnly
 * @property {ServerKind} [kind] which server wsside is attached to, for the words of a
 *   refusal (the settings it names); 'dev' when unset
 */

/** @typedef {'dev' | 'preview' | 'attachWsside'} ServerKind */

// What a refusal calls the server, and where its allowed hosts and origins are set.
/** @type {Record<ServerKind, { name: string, hosts: string, origins: string }>} */
const WORDS = {
  dev: { name: 'dev server', hosts: 'server.allowedHosts in vite.config', origins: 'the allowedOrigins option of wsside()' },
  preview: { name: 'preview server', hosts: 'preview.allowedHosts in vite.config', origins: 'the allowedOrigins option of wsside()' },
  attachWsside: { name: 'server', hosts: 'the allowedHosts option of attachWsside()', origins: 'the allowedOrigins option of attachWsside()' },
}

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
 * The first value of a header a proxy may have appended to (`a, b`; Node joins repeated
 * X-Forwarded-* headers the same way), trimmed; undefined when absent or empty.
 * @param {string | string[] | undefined} value
 */
function firstValue(value) {
  const first = (Array.isArray(value) ? value[0] : value)?.split(',')[0].trim()
  return first || undefined
}

/**
 * The origin of the page a forwarder serves, `${X-Forwarded-Proto || the request's scheme}://
 * ${X-Forwarded-Host}`, or null without an X-Forwarded-Host that is a host (and port alone)
 * and a scheme of a web page. Proxies that give a WebSocket's scheme say ws or wss (Traefik):
 * its page's is http or https.
 * @param {IncomingMessage} req
 */
function forwardedOrigin(req) {
  const host = firstValue(req.headers['x-forwarded-host'])
  if (host === undefined || /[\s/?#@\\]/.test(host)) return null
  const proto = firstValue(req.headers['x-forwarded-proto'])?.toLowerCase() ??
    (req.socket instanceof tls.TLSSocket ? 'https' : 'http')
  const scheme = proto === 'wss' ? 'https' : proto === 'ws' ? 'http' : proto
  if (scheme !== 'http' && scheme !== 'https') return null
  try {
    return new URL(`${scheme}://${host}`).origin // lower case, without a default port
  } catch {
    return null
  }
}

/**
 * Why `req` must be refused (a sentence for the log), or null when it may pass.
 * @param {IncomingMessage} req
 * @param {SecurityContext} context
 * @returns {string | null}
 */
export function refusalReason(req, context) {
  const words = WORDS[context.kind ?? 'dev']
  const host = req.headers.host
  if (context.checkHost && !hostAllowed(host, context.allowedHosts)) {
    return `Host ${JSON.stringify(host)} is not allowed; add it to ${words.hosts}`
  }
  const origin = req.headers.origin
  if (origin === undefined) {
    if (context.allowedOrigins.includes(null) || context.loopbackOnly()) return null
    return `no Origin header while the ${words.name} listens beyond loopback; add null to ` +
      `${words.origins} to accept non-browser clients`
  }
  if (originListed(origin, context.allowedOrigins)) return null
  if (host !== undefined && (sameHost(origin, host) || sameLoopbackServer(origin, host))) return null
  // A forwarder that rewrites Host to localhost:PORT (Codespaces, dev tunnels, VS Code's port
  // forwarding) names the host the browser asked for in X-Forwarded-Host, and its scheme in
  // X-Forwarded-Proto. A browser's WebSocket API cannot set either header, so an Origin equal
  // to the page they name is a page served through that forwarder: the same origin. A page
  // of another site sends its own Origin, which does not match; a client that is no browser
  // can send any Origin anyway. The Host check above sees only the rewritten Host, so an
  // https page alone: a DNS-rebinding page (a name of the attacker's pointed at this machine)
  // reaching a local forwarder that rewrites Host would name itself too, but cannot show a
  // certificate for its name. Both are origins as a browser writes them (lower case, no
  // default port): compared as text.
  const forwarded = forwardedOrigin(req)
  const secure = forwarded?.startsWith('https:') ?? false
  if (secure && origin === forwarded) return null
  if (origin === 'null') {
    // An opaque origin: `null` (not the string) in allowedOrigins means "no Origin header".
    return `Origin "null" is not this ${words.name} (${host}): a page opened as a file (file://) sends it, as a ` +
      `sandboxed frame does; open the page from the ${words.name} (the string 'null' in allowedOrigins would let ` +
      "in every website's sandboxed frames)"
  }
  const proxied = forwarded === null
    ? ''
    : ` nor the page X-Forwarded-Host names (${forwarded}${secure ? '' : ', which counts over https only'})`
  return `Origin ${JSON.stringify(origin)} is not this ${words.name} (${host})${proxied}; add it to ${words.origins}`
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
