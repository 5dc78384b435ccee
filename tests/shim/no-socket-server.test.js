// An upgrade that is not wsside's, on a server where nothing else listens for upgrades (Vite
// with `server.ws: false`, `vite preview`): answered 404, as Node answers upgrades when
// nothing listens for them. Left unanswered, Vite's own HMR socket (which its page script
// opens whatever server.ws says) would hold Chromium's one connecting WebSocket per host, and
// every wsside socket of the page would queue behind it, never connecting.

import assert from 'node:assert/strict'
import net from 'node:net'
import { it } from 'node:test'
import { makeProject, startViteFor } from './helpers/project.js'
import { connectWs, upgrade } from './helpers/ws-client.js'

it('server.ws false: Vite\'s HMR socket gets 404 at once, and wsside\'s endpoints still open', async (t) => {
  const root = makeProject(t)
  const { port } = await startViteFor(t, root, { server: { ws: false } })
  const started = Date.now()
  const hmr = await upgrade({ port, path: '/?token=x', headers: { 'Sec-WebSocket-Protocol': 'vite-hmr' }, ms: 5_000 })
  assert.equal(hmr.status, 404)
  assert.ok(Date.now() - started < 2_000, `answered after ${Date.now() - started} ms`)
  const other = await upgrade({ port, path: '/elsewhere', ms: 5_000 })
  assert.equal(other.status, 404)
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('hi')
  assert.equal(await ws.next(), 'hi')
  ws.close()
})

it('vite preview: an upgrade outside the prefix gets 404', async (t) => {
  const root = makeProject(t)
  const { port } = await startViteFor(t, root, { mode: 'preview' })
  const res = await upgrade({ port, path: '/elsewhere', ms: 5_000 })
  assert.equal(res.status, 404)
})

it('clients that reset before their 404 is written leave the server running', async (t) => {
  const root = makeProject(t)
  const { port } = await startViteFor(t, root, { mode: 'preview' })
  const resets = Array.from({ length: 200 }, () => new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET /elsewhere HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
      socket.resetAndDestroy()
    })
    socket.on('error', () => {})
    socket.on('close', resolve)
  }))
  await Promise.all(resets)
  const res = await upgrade({ port, path: '/elsewhere', ms: 5_000 })
  assert.equal(res.status, 404)
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('still here')
  assert.equal(await ws.next(), 'still here')
  ws.close()
})
