// @ts-check
// What the shim writes on a client's socket or towards the sidecar, as text: the request head
// the sidecar parses (with the run's secret and the client's address on the pipe), and a
// whole HTTP response for an upgrade it refuses.

import net from 'node:net'

/** @import { IncomingMessage } from 'node:http' */
/** @import { Socket } from 'node:net' */
/** @import { Duplex } from 'node:stream' */

export const SECRET_HEADER = 'x-wsside-secret'
// On the pipe, beside the secret: the client's address and port (`127.0.0.1:46080`,
// `[::1]:46080`), which the sidecar's peer there (this process, over a Unix socket) is not.
// The sidecar believes it only with the secret, and a client's own is dropped, like the
// secret's.
export const PEER_HEADER = 'x-wsside-peer'
const STATUS = { 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }

/**
 * A complete HTTP response on a raw socket, then close.
 * @param {Duplex} socket
 * @param {keyof typeof STATUS} status
 * @param {string} text
 */
export function respond(socket, status, text) {
  // A client that reset meanwhile makes the write fail: an unhandled 'error' would end Node.
  if (socket.listenerCount('error') === 0) socket.on('error', () => {})
  const body = Buffer.from(text + '\n')
  socket.end(
    `HTTP/1.1 ${status} ${STATUS[status] ?? ''}\r\nConnection: close\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n` + body,
  )
}

/**
 * The request head the sidecar parses, re-serialised from what Node parsed, with `extra`
 * header pairs appended, as latin-1 text (one character per byte). A client's own secret
 * and peer headers are dropped, never passed on.
 * @param {IncomingMessage} req
 * @param {Array<[string, string]>} [extra]
 */
export function headText(req, extra = []) {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase()
    if (name !== SECRET_HEADER && name !== PEER_HEADER) text += `${raw[i]}: ${raw[i + 1]}\r\n`
  }
  for (const [name, value] of extra) text += `${name}: ${value}\r\n`
  return text + '\r\n'
}

/**
 * The PEER_HEADER pair for `socket`'s client, as an access line writes it (IPv6 in
 * brackets); none once the client is gone (its address is then unknown).
 * @param {Socket} socket
 * @returns {Array<[string, string]>}
 */
export function peerHeader(socket) {
  const { remoteAddress: address, remotePort: port } = socket
  if (address === undefined || port === undefined) return []
  return [[PEER_HEADER, net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`]]
}
