// A tiny RFC 6455 client over raw sockets (Node 20 has no WebSocket client), enough to
// check status lines, echo text, and see close codes. Every wait is bounded.

import { randomBytes } from 'node:crypto'
import net from 'node:net'
import tls from 'node:tls'

export const WAIT_MS = 8_000

export function withTimeout(promise, ms, what) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
    }),
  ])
}

function connectSocket({ port, secure, host }) {
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tls.connect({ port, host, rejectUnauthorized: false, servername: 'localhost' })
      : net.connect(port, host)
    socket.once(secure ? 'secureConnect' : 'connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

function requestText(path, host, port, headers) {
  const all = {
    Host: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  }
  let text = `GET ${path} HTTP/1.1\r\n`
  for (const [k, v] of Object.entries(all)) if (v !== undefined) text += `${k}: ${v}\r\n`
  return text + '\r\n'
}

/**
 * Sends an upgrade request and resolves with `{ status, statusLine, headers, body, socket,
 * rest, serverClosed() }` once the response head arrived (for other responses: with the
 * body, by Content-Length, or once the server closed).
 * `headers` override the defaults; a value of undefined drops that header.
 */
export async function upgrade({ port, path, headers = {}, secure = false, ms = WAIT_MS, host = '127.0.0.1' }) {
  const socket = await connectSocket({ port, secure, host })
  socket.write(requestText(path, host, port, headers))
  let ended
  const res = await withTimeout(new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0)
    let parsed = null
    const finish = () => {
      socket.off('data', onData)
      resolve({ ...parsed, body: buf.subarray(parsed.headLength).toString(), rest: buf.subarray(parsed.headLength), socket })
    }
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk])
      if (parsed === null) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
        const headers = {}
        for (const line of lines.slice(1)) {
          const i = line.indexOf(':')
          headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
        }
        parsed = { statusLine: lines[0], status: Number(lines[0].split(' ')[1]), headers, headLength: end + 4 }
      }
      const length = Number(parsed.headers['content-length'] ?? NaN)
      if (parsed.status === 101 || buf.length - parsed.headLength >= length) finish()
    }
    socket.on('data', onData)
    socket.once('end', () => (parsed ? finish() : reject(new Error(`connection closed without a response: ${buf}`))))
    ended = new Promise((resolve) => socket.once('close', resolve))
    socket.once('error', reject)
  }), ms, `the response to ${path}`)
  /** Resolves when the server has closed the connection (bounded). */
  res.serverClosed = () => withTimeout(ended, WAIT_MS, `the server to close ${path}`)
  return res
}

function frame(opcode, payload) {
  const mask = randomBytes(4)
  const len = payload.length
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len])
    : len < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 255])
      : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b })()])
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]))
  return Buffer.concat([head, mask, body])
}

/** An open WebSocket on an upgraded socket: `send`, `next()`, `closed`, `close()`. */
export class WsClient {
  constructor(socket, rest = Buffer.alloc(0)) {
    this.socket = socket
    this.messages = []
    this.waiters = []
    this.buf = Buffer.alloc(0)
    this.closed = new Promise((resolve) => {
      this._closed = resolve
    })
    socket.on('data', (chunk) => this._data(chunk))
    socket.on('close', () => this._closed({ code: 1006, reason: '' }))
    socket.on('error', () => {})
    if (rest.length) this._data(rest)
  }

  send(text) {
    this.socket.write(frame(0x1, Buffer.from(text)))
  }

  close(code = 1000) {
    const b = Buffer.alloc(2)
    b.writeUInt16BE(code)
    this.socket.write(frame(0x8, b))
  }

  /** The next text message (parsed as JSON when `json`). */
  next({ json = false, ms = WAIT_MS } = {}) {
    const take = (m) => (json ? JSON.parse(m) : m)
    if (this.messages.length) return Promise.resolve(take(this.messages.shift()))
    return withTimeout(new Promise((resolve) => this.waiters.push((m) => resolve(take(m)))), ms, 'a message')
  }

  _data(chunk) {
    this.buf = Buffer.concat([this.buf, chunk])
    for (;;) {
      if (this.buf.length < 2) return
      const opcode = this.buf[0] & 0x0f
      let len = this.buf[1] & 0x7f
      let off = 2
      if (len === 126) {
        if (this.buf.length < 4) return
        len = this.buf.readUInt16BE(2)
        off = 4
      } else if (len === 127) {
        if (this.buf.length < 10) return
        len = Number(this.buf.readBigUInt64BE(2))
        off = 10
      }
      if (this.buf.length < off + len) return
      const payload = this.buf.subarray(off, off + len)
      this.buf = this.buf.subarray(off + len)
      if (opcode === 0x8) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005
        this._closed({ code, reason: payload.subarray(2).toString() })
        this.socket.end(frame(0x8, payload.subarray(0, 2)))
      } else if (opcode === 0x9) {
        this.socket.write(frame(0xa, payload))
      } else if (opcode === 0x1 || opcode === 0x2) {
        const text = payload.toString()
        const waiter = this.waiters.shift()
        if (waiter) waiter(text)
        else this.messages.push(text)
      }
    }
  }
}

/** Upgrade and require 101; resolves with a WsClient. */
export async function connectWs(opts) {
  const res = await upgrade(opts)
  if (res.status !== 101) {
    res.socket.destroy()
    throw new Error(`expected 101 for ${opts.path}, got ${res.statusLine}: ${res.body}`)
  }
  const client = new WsClient(res.socket, res.rest)
  client.response = res
  return client
}
