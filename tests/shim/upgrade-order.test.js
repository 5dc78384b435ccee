// wsside takes the upgrades under its prefix before the server's other upgrade listeners,
// whatever their order: a listener of the user's registered first that destroys every upgrade
// it does not serve (the ws package's examples do so) leaves wsside's sockets alone, and
// still gets every other upgrade as it did.

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import path from 'node:path'
import { it } from 'node:test'
import wsside, { attachWsside } from 'vite-plugin-wsside'
import { cleanupOf } from './helpers/cleanup.js'
import { captureLogger, makeProject, ownVite, PYTHON, selfSignedCert, startViteFor, vite as viteUnderTest } from './helpers/project.js'
import { openPage } from './helpers/page.js'
import { connectWs, upgrade } from './helpers/ws-client.js'

/**
 * The user's legacy WebSocket server on /legacy: a handshake, then one text message,
 * 'legacy'. Any other upgrade it sees is destroyed.
 * @returns {{ listener: Function, seen: string[] }}
 */
function legacyListener() {
  const seen = []
  const listener = (req, socket) => {
    seen.push(req.url)
    if (!req.url.startsWith('/legacy')) return socket.destroy()
    const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
      .digest('base64')
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`)
    socket.write(Buffer.concat([Buffer.from([0x81, 6]), Buffer.from('legacy')]))
  }
  return { listener, seen }
}

/**
 * Vite in middleware mode behind the user's `server`, whose legacy listener is registered
 * before attachWsside; resolves once it listens and the sidecar is ready.
 */
async function behindLegacyListener(t, root, server) {
  const logs = captureLogger()
  const vite = ownVite(t, await viteUnderTest.createServer({
    root, configFile: false, customLogger: logs.logger, server: { middlewareMode: true, ws: false },
    plugins: [wsside({ python: PYTHON })],
  }))
  server.on('request', vite.middlewares)
  cleanupOf(t).add(() => server.close())
  const legacy = legacyListener()
  server.on('upgrade', legacy.listener)
  const attached = attachWsside(server, { root, python: PYTHON, logger: logs.logger })
  cleanupOf(t).add(() => attached.close())
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  await logs.waitFor(/sidecar ready: pid \d+/)
  return { port: server.address().port, legacy, attached, logs }
}

it('middleware mode: a listener registered before attachWsside that destroys other upgrades leaves wsside\'s alone', async (t) => {
  const root = makeProject(t)
  const server = http.createServer()
  const { port, legacy, attached } = await behindLegacyListener(t, root, server)
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('first either way')
  assert.equal(await ws.next(), 'first either way')
  // The other listener still serves its own path, and still gets every upgrade outside the
  // prefix, untouched: it destroys /other, which gets no answer.
  const old = await connectWs({ port, path: '/legacy' })
  assert.equal(await old.next(), 'legacy')
  old.socket.destroy()
  await assert.rejects(upgrade({ port, path: '/other' }), /connection closed without a response/)
  assert.deepEqual(legacy.seen, ['/legacy', '/other'])
  ws.close()
  assert.equal((await ws.closed).code, 1000)
  // Detached, the server's emit is its class's again, and its listener gets every upgrade.
  await attached.close()
  assert.ok(!Object.hasOwn(server, 'emit'))
  assert.deepEqual(server.listeners('upgrade'), [legacy.listener])
  await assert.rejects(upgrade({ port, path: '/api/echo' }), /connection closed without a response/)
  assert.deepEqual(legacy.seen, ['/legacy', '/other', '/api/echo'])
})

it('middleware mode over HTTPS: a socket piped to the sidecar (not handed over at once) survives such a listener', async (t) => {
  // The pipe connects to the sidecar's Unix socket after the listener has returned: the
  // other listener, run in the same emit, would have destroyed the client's socket by then.
  const root = makeProject(t)
  const server = https.createServer(selfSignedCert(root))
  const { port, legacy } = await behindLegacyListener(t, root, server)
  const ws = await connectWs({ port, path: '/api/echo', secure: true })
  ws.send('piped')
  assert.equal(await ws.next(), 'piped')
  ws.close()
  assert.equal((await ws.closed).code, 1000)
  const old = await connectWs({ port, path: '/legacy', secure: true })
  assert.equal(await old.next(), 'legacy')
  old.socket.destroy()
  assert.deepEqual(legacy.seen, ['/legacy'])
})

it('dev server: Vite\'s HMR socket and the upgrades outside the prefix still reach the other listeners', async (t) => {
  const root = makeProject(t)
  const seen = []
  // A plugin listed before wsside: its listener is registered first.
  const before = {
    name: 'listens-first',
    configureServer(server) {
      server.httpServer.on('upgrade', (req) => seen.push(req.url))
    },
  }
  const { vite, port } = await startViteFor(t, root, { config: { plugins: [before, wsside({ python: PYTHON })] } })
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('dev')
  assert.equal(await ws.next(), 'dev')
  const page = await openPage(port)
  page.close()
  assert.deepEqual(seen, ['/'])
  const httpServer = vite.httpServer
  await vite.close()
  assert.ok(!Object.hasOwn(httpServer, 'emit'))
})
