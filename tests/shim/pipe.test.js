// HTTPS dev server: the TLS session lives in Node, so the shim pipes bytes to the
// sidecar's private Unix socket (with the per-run secret) instead of handing the socket over.

import assert from 'node:assert/strict'
import http from 'node:http'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { before, describe, it } from 'node:test'
import wsside from 'vite-plugin-wsside'
import { suiteCleanup } from './helpers/cleanup.js'
import { ECHO, makeProject, PYTHON, selfSignedCert, startViteFor, waitForExit } from './helpers/project.js'
import { connectWs, upgrade } from './helpers/ws-client.js'

const SPY = readFileSync(new URL('./handlers/spy.py', import.meta.url), 'utf8')
// What a handler is told of its client, and whether the shim's peer header reached it.
const PEER = `
from wsside import Handler

peer = Handler("/peer")


@peer.on_connect
async def hello(conn, request):
    await conn.send({"remote": request.remote, "peer_header_seen": "x-wsside-peer" in request.headers})
`
// A client's own peer header, naming someone else: the shim drops it on both paths.
const FORGED = { 'X-Wsside-Peer': '203.0.113.9:4444' }

/** A project with the spy and peer handlers, whose sidecar writes its access lines (debug). */
function peerProject(owner) {
  const root = makeProject(owner, { 'spy.py': SPY, 'peer.py': PEER })
  writeFileSync(path.join(root, 'wsside.toml'), 'log_level = "debug"\n')
  return root
}

/** @param {string} text matched as it is */
const literal = (text) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))

/**
 * Connects to /api/peer from `host` with FORGED, and checks that the handler and the access
 * and close lines name the client's own address and port (IPv6 in brackets there).
 */
async function assertPeerSeen({ port, logs, host, secure }) {
  const from = logs.lines.length
  const ws = await connectWs({ port, host, path: '/api/peer', secure, headers: FORGED })
  assert.deepEqual(await ws.next({ json: true }), { remote: host, peer_header_seen: false })
  const client = `${host.includes(':') ? `[${host}]` : host}:${ws.socket.localPort}`
  await logs.waitFor(literal(`${client} - "WebSocket /api/peer" 101`), { from })
  ws.close()
  assert.equal((await ws.closed).code, 1000)
  await logs.waitFor(literal(`${client} - "WebSocket /api/peer" closed 1000`), { from })
  assert.ok(!logs.lines.slice(from).some((l) => l.includes('203.0.113.9')), logs.lines.slice(from).join('\n'))
}

describe('dev server over HTTPS (pipe path)', () => {
  const cleanup = suiteCleanup()
  let root, vite, port, logs, pid

  before(async () => {
    root = peerProject(cleanup)
    ;({ vite, port, logs, pid } = await startViteFor(cleanup, root, { server: { https: selfSignedCert(root) } }))
  })

  it('echoes through the Unix socket pipe, and user code never sees the secret', async () => {
    const from = logs.lines.length
    const ws = await connectWs({ port, path: '/api/spy', secure: true })
    assert.deepEqual(await ws.next({ json: true }), { secret_seen: false })
    ws.send('over TLS')
    assert.equal(await ws.next(), 'over TLS')
    await logs.waitFor(/\/api\/spy: pipe \(TLS dev server\)/, { from })
    ws.close()
    assert.equal((await ws.closed).code, 1000)
  })

  it("tells handlers and the access lines the client's address and port, as the hand-over path does; a client cannot name another", async (t) => {
    await assertPeerSeen({ port, logs, host: '127.0.0.1', secure: true })
    await logs.waitFor(/\/api\/peer: pipe \(TLS dev server\)/)
    const plain = await startViteFor(t, peerProject(t))
    await assertPeerSeen({ port: plain.port, logs: plain.logs, host: '127.0.0.1', secure: false })
    await plain.logs.waitFor(/\/api\/peer: hand-over/)
    // A plain GET of the endpoint (its 426 comes from the sidecar through the shim's request).
    const from = plain.logs.lines.length
    const res = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: plain.port, path: '/api/peer', headers: FORGED }, resolve).on('error', reject)
    })
    res.resume()
    assert.equal(res.statusCode, 426)
    await plain.logs.waitFor(literal(`127.0.0.1:${res.socket.localPort} - "GET /api/peer" 426`), { from })
  })

  it('gets the same 404 from the sidecar as the hand-over path', async () => {
    const res = await upgrade({ port, path: '/api/missing', secure: true })
    assert.equal(res.statusLine, 'HTTP/1.1 404 Not Found')
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body))
  })

  it('takes the heads the hand-over path takes: a 10 KB cookie, 150 headers', async (t) => {
    const plain = await startViteFor(t, makeProject(t, { 'spy.py': SPY }))
    // Node's parser read the head first (16 KiB in all); the sidecar's own limits were
    // aiohttp's 8,190 bytes a line and 128 headers, so a big cookie got 400 over TLS only.
    const headers = { Cookie: `session=${'a'.repeat(10_000)}` }
    for (let i = 0; i < 150; i++) headers[`X-Extra-${i}`] = 'x'
    for (const secure of [true, false]) {
      const res = await upgrade({ port: secure ? port : plain.port, path: '/api/spy', headers, secure })
      assert.equal(res.status, 101, `${secure ? 'pipe' : 'hand-over'}: ${res.statusLine}`)
      res.socket.destroy()
    }
  })

  it('never writes the secret to the log', () => {
    assert.ok(!logs.lines.some((l) => /x-wsside-secret|WSSIDE_SECRET/i.test(l)))
  })

  it('server.close() closes piped clients with 1001', async () => {
    const ws = await connectWs({ port, path: '/api/spy', secure: true })
    await ws.next({ json: true })
    await vite.close()
    assert.deepEqual(await ws.closed, { code: 1001, reason: 'Going Away' })
    await waitForExit(pid)
  })
})

it('an IPv6 client: its address without brackets for handlers, with them in the lines', async (t) => {
  const root = peerProject(t)
  const { port, logs } = await startViteFor(t, root, { server: { https: selfSignedCert(root), host: '::1' } })
  await assertPeerSeen({ port, logs, host: '::1', secure: true })
})

it('wsside() listed twice (a shared config merged in): each upgrade is answered once, and a line says why', async (t) => {
  const root = makeProject(t, { 'echo.py': ECHO })
  const twice = [wsside({ python: PYTHON }), wsside({ python: PYTHON })]
  const { port, logs } = await startViteFor(t, root, { server: { https: selfSignedCert(root) }, config: { plugins: twice } })
  const from = logs.lines.length
  const ws = await connectWs({ port, path: '/api/echo', secure: true })
  // Piped twice, the client would get a second 101 inside its stream, and each message twice.
  ws.send('one')
  ws.send('two')
  assert.equal(await ws.next(), 'one')
  assert.equal(await ws.next(), 'two')
  ws.close()
  assert.equal((await ws.closed).code, 1000)
  await logs.waitFor(/\/api\/echo: wsside\(\) is in vite\.config's plugins more than once/, { from })
  assert.equal(logs.lines.slice(from).filter((l) => /\/api\/echo: pipe/.test(l)).length, 1)
})
