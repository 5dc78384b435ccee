// Middleware mode: a clear message from the plugin, and attachWsside on your own server.

import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { it } from 'node:test'
import wsside, { attachWsside } from 'vite-plugin-wsside'
import { cleanupOf } from './helpers/cleanup.js'
import { captureLogger, isAlive, makeProject, ownVite, PYTHON, vite as viteUnderTest, waitForExit } from './helpers/project.js'
import { connectWs } from './helpers/ws-client.js'

const MIDDLEWARE_WARNING = /middleware mode.*attachWsside\(yourHttpServer, options\)/

/** The user's own http.Server (`handler` for its requests), closed when test `t` ends. */
function ownServer(t, handler) {
  const server = http.createServer(handler)
  cleanupOf(t).add(() => server.close())
  return server
}

/** attachWsside(server, ...), whose sidecar is stopped when test `t` ends (a second close() is a no-op). */
function attachFor(t, server, options) {
  const attached = attachWsside(server, options)
  cleanupOf(t).add(() => attached.close())
  return attached
}

/**
 * Vite in middleware mode behind the user's own http.Server (`attach`: whether the user
 * calls attachWsside on it); resolves once a page request went through Vite. All of it is
 * closed when test `t` ends.
 */
async function middlewareMode(t, root, { attach }) {
  const logs = captureLogger()
  const vite = ownVite(t, await viteUnderTest.createServer({
    root, configFile: false, customLogger: logs.logger, server: { middlewareMode: true, ws: false },
    plugins: [wsside({ python: PYTHON })],
  }))
  const server = ownServer(t, vite.middlewares)
  if (attach) attachFor(t, server, { root, python: PYTHON, logger: logs.logger })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const res = await fetch(`http://127.0.0.1:${server.address().port}/`)
  await res.text()
  return { logs }
}

it('explains middleware mode instead of failing silently', async (t) => {
  const { logs } = await middlewareMode(t, makeProject(t), { attach: false })
  await logs.waitFor(MIDDLEWARE_WARNING)
})

it('says nothing about middleware mode once attachWsside serves the server', async (t) => {
  const { logs } = await middlewareMode(t, makeProject(t), { attach: true })
  // The middleware that would warn has run: the page was served.
  assert.ok(!logs.lines.some((line) => MIDDLEWARE_WARNING.test(line)), logs.lines.join('\n'))
})

it('attachWsside routes the upgrades of your own http.Server', async (t) => {
  const root = makeProject(t)
  const logs = captureLogger()
  const server = ownServer(t, (req, res) => res.end('app'))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  const attached = attachFor(t, server, { root, python: PYTHON, logger: logs.logger })
  const ready = await logs.waitFor(/sidecar ready: pid (\d+)/)
  // The endpoint lines name where the server listens, as under Vite (they had the path alone).
  await logs.waitFor(new RegExp(`^\\[wsside\\]   ws://localhost:${port}/api/echo  \\(ws/echo\\.py:\\d+\\)$`))
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('own server')
  assert.equal(await ws.next(), 'own server')
  await attached.close()
  assert.equal((await ws.closed).code, 1001)
  await waitForExit(Number(ready[1]))
  assert.ok(!isAlive(Number(ready[1])))
})

const REMOTE = `
from wsside import Handler

remote = Handler("/remote")

@remote.on_connect
async def tell(conn, request):
    await conn.send(request.remote)
`

function listens(host) {
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(false))
    probe.listen(0, host, () => probe.close(() => resolve(true)))
  })
}

it('attachWsside before listen: sockets are handed over with the family the server listens on', async (t) => {
  // The shim reads the server's address once it listens and tells the sidecar the sockets'
  // family; a wrong one would garble the peer address the handler sees.
  for (const host of ['127.0.0.1', '::1']) {
    // One subtest a family: each one's server, sidecar and folder are gone before the next.
    // Without IPv6 loopback on this machine, the ::1 one is reported skipped.
    const skip = !(await listens(host)) && `cannot listen on ${host} on this machine`
    await t.test(host, { skip }, async (t) => {
      const root = makeProject(t, { 'remote.py': REMOTE })
      const logs = captureLogger()
      const server = ownServer(t, (req, res) => res.end('app'))
      attachFor(t, server, { root, python: PYTHON, logger: logs.logger })
      await new Promise((resolve) => server.listen(0, host, resolve))
      await logs.waitFor(/sidecar ready/)
      const ws = await connectWs({ host, port: server.address().port, path: '/api/remote' })
      assert.equal(await ws.next(), host)
      assert.ok(logs.lines.some((line) => /\/api\/remote: hand-over/.test(line)), 'handed over, not piped')
      ws.close()
    })
  }
})

it('attachments closed on a server that stays keep none of their listeners on it', async (t) => {
  const server = ownServer(t)
  const before = { close: server.listenerCount('close'), upgrade: server.listenerCount('upgrade') }
  for (let i = 0; i < 12; i += 1) {
    await attachWsside(server, { root: makeProject(t), python: PYTHON, logger: captureLogger().logger }).close()
  }
  assert.deepEqual({ close: server.listenerCount('close'), upgrade: server.listenerCount('upgrade') }, before)
})
