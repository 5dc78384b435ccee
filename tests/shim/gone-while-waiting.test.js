// A client that gives up while its upgrade waits for the sidecar: a browser aborting a pending
// WebSocket sends a FIN, which ends the client's side only (Node's HTTP server allows
// half-open sockets), so the socket is not destroyed. It must not be counted as refused once
// the wait is over, nor handed to Python as a connection when the sidecar becomes ready
// (whose on_connect would run for nobody). (In its own file: it waits the 10 s.)

import assert from 'node:assert/strict'
import net from 'node:net'
import { it } from 'node:test'
import { makeProject, startViteFor } from './helpers/project.js'
import { connectWs, upgrade, withTimeout } from './helpers/ws-client.js'

/** An upgrade to `path` that the client ends (FIN) once it has been sent; resolves once closed. */
async function abandoned(port, path) {
  const socket = net.connect(port, '127.0.0.1')
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
    'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
  socket.end()
  socket.resume()
  return new Promise((resolve) => socket.once('close', resolve))
}

const NEVER_READY = `
import time

from wsside import Handler

time.sleep(30)
slow = Handler("/slow")
`

it('one that left is not counted among the refused at the end of the wait', { timeout: 40_000 }, async (t) => {
  const root = makeProject(t, { 'slow.py': NEVER_READY })
  const { port, logs } = await startViteFor(t, root, { waitReady: false })
  const gone = abandoned(port, '/api/gone')
  const res = await upgrade({ port, path: '/api/slow', ms: 15_000 })
  assert.equal(res.status, 503)
  await withTimeout(gone, 5_000, 'the abandoned socket to close')
  // The one that left waited longer: had it been refused, it would be the named one.
  await logs.waitFor(/refused \/api\/slow: the Python sidecar is not ready \(starting\)/)
  assert.ok(!logs.lines.some((line) => line.includes('/api/gone')), logs.lines.join('\n'))
})

const COUNTED = `
import time

from wsside import Handler

time.sleep(2)  # slow to import: upgrades wait for the sidecar meanwhile
opened = []
echo = Handler("/echo")

@echo.on_connect
def hello(conn, request):
    opened.append(request.query.get("who"))
    conn.send({"opened": opened})
`

it('one that left is not handed to Python once the sidecar is ready', { timeout: 40_000 }, async (t) => {
  const root = makeProject(t, { 'echo.py': COUNTED })
  const { port, logs } = await startViteFor(t, root, { waitReady: false })
  await abandoned(port, '/api/echo?who=gone')
  await logs.waitFor(/sidecar ready/)
  const ws = await connectWs({ port, path: '/api/echo?who=here' })
  assert.deepEqual(await ws.next({ json: true }), { opened: ['here'] })
  ws.close()
})

const TOTAL = `
import time

from wsside import Handler

time.sleep(2)  # slow to import: what the client sends meanwhile waits in Node
count = Handler("/count")

@count.on_connect
def start(conn, request):
    conn.metadata["bytes"] = 0

@count.on_message
def add(conn, data):
    if data == "total?":
        conn.send({"bytes": conn.metadata["bytes"]})
    else:
        conn.metadata["bytes"] += len(data)
`

/** A client's binary (or, for a string, text) frame, masked with 0 (the payload as is). */
function frame(payload) {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload
  const opcode = typeof payload === 'string' ? 0x81 : 0x82
  const head = data.length < 126 ? Buffer.from([opcode, 0x80 | data.length])
    : Buffer.from([opcode, 0x80 | 127, 0, 0, 0, 0, ...[24, 16, 8, 0].map((s) => (data.length >>> s) & 0xff)])
  return Buffer.concat([head, Buffer.alloc(4), data])
}

it('what a client sent before its 101 all reaches Python with the socket', { timeout: 40_000 }, async (t) => {
  const root = makeProject(t, { 'count.py': TOTAL })
  const { port } = await startViteFor(t, root, { waitReady: false })
  const socket = net.connect(port, '127.0.0.1')
  t.after(() => socket.destroy())
  await new Promise((resolve) => socket.once('connect', resolve))
  // 4 MiB of messages behind the request, more than Node's stream buffers before it pauses.
  const chunks = 64
  socket.write(`GET /api/count HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
    'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
  for (let i = 0; i < chunks; i += 1) socket.write(frame(Buffer.alloc(65536, i)))
  socket.write(frame('total?'))
  let got = Buffer.alloc(0)
  const answer = await withTimeout(new Promise((resolve) => {
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk])
      const end = got.indexOf('\r\n\r\n')
      if (end < 0) return
      const body = got.subarray(end + 4)
      if (body.length >= 2 && body.length >= 2 + body[1]) resolve(body.subarray(2, 2 + body[1]).toString())
    })
  }), 20_000, 'the total')
  assert.match(got.toString('latin1'), /^HTTP\/1\.1 101 /)
  assert.deepEqual(JSON.parse(answer), { bytes: chunks * 65536 })
})
