// Middleware mode: a clear message from the plugin, and attachWsside on your own server.

import assert from 'node:assert/strict'
import http from 'node:http'
import { it } from 'node:test'
import { createServer } from 'vite'
import wsside, { attachWsside } from 'vite-plugin-wsside'
import { captureLogger, isAlive, makeProject, PYTHON, removeProject, waitForExit } from './helpers/project.js'
import { connectWs } from './helpers/ws-client.js'

it('explains middleware mode instead of failing silently', async () => {
  const root = makeProject()
  const logs = captureLogger()
  const vite = await createServer({
    root, configFile: false, customLogger: logs.logger, server: { middlewareMode: true, ws: false },
    plugins: [wsside({ python: PYTHON })],
  })
  try {
    await logs.waitFor(/middleware mode.*attachWsside\(yourHttpServer, options\)/)
  } finally {
    await vite.close()
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
