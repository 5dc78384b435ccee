// Middleware mode: a clear message from the plugin, and attachWsside on your own server.

import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { it } from 'node:test'
import wsside, { attachWsside } from 'vite-plugin-wsside'
import { captureLogger, isAlive, makeProject, PYTHON, removeProject, vite as viteUnderTest, waitForExit } from './helpers/project.js'
import { connectWs } from './helpers/ws-client.js'

const MIDDLEWARE_WARNING = /middleware mode.*attachWsside\(yourHttpServer, options\)/

/**
 * Vite in middleware mode behind the user's own http.Server (`attach`: whether the user
 * calls attachWsside on it); resolves once a page request went through Vite.
 */
async function middlewareMode(root, { attach }) {
  const logs = captureLogger()
  const vite = await viteUnderTest.createServer({
    root, configFile: false, customLogger: logs.logger, server: { middlewareMode: true, ws: false },
    plugins: [wsside({ python: PYTHON })],
  })
  const server = http.createServer(vite.middlewares)
  const attached = attach ? attachWsside(server, { root, python: PYTHON, logger: logs.logger }) : null
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const res = await fetch(`http://127.0.0.1:${server.address().port}/`)
  await res.text()
  const close = async () => {
    await attached?.close()
    await vite.close()
    server.close()
  }
  return { logs, close }
}

it('explains middleware mode instead of failing silently', async () => {
  const root = makeProject()
  const { logs, close } = await middlewareMode(root, { attach: false })
  try {
    await logs.waitFor(MIDDLEWARE_WARNING)
  } finally {
    await close()
    removeProject(root)
  }
})

it('says nothing about middleware mode once attachWsside serves the server', async () => {
  const root = makeProject()
  const { logs, close } = await middlewareMode(root, { attach: true })
  try {
    // The middleware that would warn has run: the page was served.
    assert.ok(!logs.lines.some((line) => MIDDLEWARE_WARNING.test(line)), logs.lines.join('\n'))
  } finally {
    await close()
    removeProject(root)
  }
})

it('attachWsside routes the upgrades of your own http.Server', async () => {
  const root = makeProject()
  const logs = captureLogger()
  const server = http.createServer((req, res) => res.end('app'))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  const attached = attachWsside(server, { root, python: PYTHON, logger: logs.logger })
  try {
    const ready = await logs.waitFor(/sidecar ready: pid (\d+)/)
    const ws = await connectWs({ port, path: '/api/echo' })
    ws.send('own server')
    assert.equal(await ws.next(), 'own server')
    await attached.close()
    assert.equal((await ws.closed).code, 1001)
    await waitForExit(Number(ready[1]))
    assert.ok(!isAlive(Number(ready[1])))
  } finally {
    server.close()
    removeProject(root)
  }
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

it('attachWsside before listen: sockets are handed over with the family the server listens on', async () => {
  // The shim reads the server's address once it listens and tells the sidecar the sockets'
  // family; a wrong one would garble the peer address the handler sees.
  for (const host of ['127.0.0.1', '::1']) {
    if (!(await listens(host))) continue // no IPv6 loopback on this machine
    const root = makeProject({ 'remote.py': REMOTE })
    const logs = captureLogger()
    const server = http.createServer((req, res) => res.end('app'))
    const attached = attachWsside(server, { root, python: PYTHON, logger: logs.logger })
    try {
      await new Promise((resolve) => server.listen(0, host, resolve))
      await logs.waitFor(/sidecar ready/)
      const ws = await connectWs({ host, port: server.address().port, path: '/api/remote' })
      assert.equal(await ws.next(), host)
      assert.ok(logs.lines.some((line) => /\/api\/remote: hand-over/.test(line)), 'handed over, not piped')
      ws.close()
    } finally {
      await attached.close()
      server.close()
      removeProject(root)
    }
  }
})
