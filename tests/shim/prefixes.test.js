// Several prefixes and a prefix moved by a vite.config edit: every prefix's endpoints are
// listed, and after a restart that moved the prefix, a page still using the old one gets an
// answer (404) at once instead of a connection that waits for good.

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import { makeProject, startViteFor, startViteWithOptionFile } from './helpers/project.js'
import { connectWs, upgrade } from './helpers/ws-client.js'

const ROOMS = `
from wsside import Handler

rooms = Handler("/rooms/{room}")
`

it('with several prefixes, the endpoints are listed under each of them, at ready and under Vite\'s URLs', async (t) => {
  const root = makeProject(t)
  const { vite, port, logs } = await startViteFor(t, root, { options: { prefix: ['/api', '/rt'] } })
  const listed = (/** @type {string} */ prefix) => new RegExp(`^\\[wsside\\] {3}ws://127\\.0\\.0\\.1:${port}${prefix}/echo {2}\\(ws/echo\\.py:4\\)$`)
  await logs.waitFor(listed('/api'))
  await logs.waitFor(listed('/rt'))
  const from = logs.lines.length
  vite.printUrls()
  const printed = logs.lines.slice(from).filter((line) => line.includes('WebSocket:'))
  assert.deepEqual(printed, [
    `  ➜  WebSocket: ws://127.0.0.1:${port}/api/echo  (ws/echo.py:4)`,
    `  ➜  WebSocket: ws://127.0.0.1:${port}/rt/echo  (ws/echo.py:4)`,
  ])
  // Both serve.
  for (const prefix of ['/api', '/rt']) {
    const ws = await connectWs({ port, path: `${prefix}/echo` })
    ws.send(prefix)
    assert.equal(await ws.next(), prefix)
    ws.close()
  }
})

it('a vite.config edit that moves the prefix: the old prefix\'s endpoints get 404 at once, and only at that restart', async (t) => {
  const root = makeProject(t)
  writeFileSync(path.join(root, 'ws', 'rooms.py'), ROOMS)
  // Saving the prefix (read from a file by vite.config) and restarting Vite is the edit.
  const { vite, port, logs, edit } = await startViteWithOptionFile(t, root, 'prefix', ['/api', '/legacy'])

  // The prefix moves from /api to /v2 (and /legacy goes).
  let from = logs.lines.length
  edit(['/v2'])
  await vite.restart()
  await logs.waitFor(/sidecar ready: pid (\d+)/, { from })
  for (const old of ['/api/echo', '/api/rooms/lobby', '/legacy/echo']) {
    const res = await upgrade({ port, path: old })
    assert.equal(res.status, 404, old)
    assert.match(res.body, /wsside's prefix is now \/v2/)
  }
  // One line for each prefix that moved, naming it.
  await logs.waitFor(new RegExp("^\\[wsside\\] /api/echo: answered 404: vite.config moved wsside's prefix from /api to /v2, " +
    'and a page loaded before the change still connects under /api \\(Vite reloads its pages after a restart\\)$'), { from })
  assert.equal(logs.lines.slice(from).filter((line) => line.includes('answered 404')).length, 2, logs.lines.join('\n'))
  // Under the old prefix, a path that is no endpoint's, and Vite's own sockets, stay Vite's.
  const other = await upgrade({ port, path: '/api/nothing', ms: 1000 }).then(() => 'answered', (error) => error.message)
  assert.match(other, /timed out after 1000 ms/)
  const ws = await connectWs({ port, path: '/v2/echo' })
  ws.send('moved')
  assert.equal(await ws.next(), 'moved')
  ws.close()

  // A restart that keeps the prefix: what the server before it did not serve is left to Vite.
  from = logs.lines.length
  await vite.restart()
  await logs.waitFor(/server restarted/, { from })
  const after = await upgrade({ port, path: '/api/echo', ms: 1000 }).then(() => 'answered', (error) => error.message)
  assert.match(after, /timed out after 1000 ms/)
})

it('a prefix that wsside.toml moves after a restart that kept vite.config\'s is not said to be moved by vite.config', async (t) => {
  const root = makeProject(t)
  writeFileSync(path.join(root, 'wsside.toml'), 'prefix = "/api"\n')
  const { vite, port, logs } = await startViteFor(t, root)
  let from = logs.lines.length
  await vite.restart()
  await logs.waitFor(/server restarted/, { from })
  from = logs.lines.length
  writeFileSync(path.join(root, 'wsside.toml'), 'prefix = "/rt"\n')
  await logs.waitFor(/sidecar ready: pid (\d+)/, { from })
  // Outside the prefix now: left to Vite, and the terminal says where the endpoint is.
  const old = await upgrade({ port, path: '/api/echo', ms: 1000 }).then((res) => res.status, (error) => error.message)
  assert.match(String(old), /timed out after 1000 ms/)
  const [told] = await logs.waitFor(/\/api\/echo: outside wsside's prefix.*/, { from })
  assert.equal(told, "/api/echo: outside wsside's prefix (/rt), which the config file sets, while the browser " +
    'client connects under /api, as wsside() in vite.config has no prefix option, so no one answers. Set ' +
    "prefix: '/rt' in wsside() (the client follows it), or remove prefix from the config file; a client of " +
    'your own connects to /rt/echo.')
  assert.deepEqual(logs.lines.slice(from).filter((line) => line.includes('vite.config moved')), [])
})

it('after a restart, the endpoints printed with Vite\'s URLs keep their ws:// origin', async (t) => {
  const { vite, port, logs } = await startViteFor(t, makeProject(t))
  const from = logs.lines.length
  await vite.restart()
  await logs.waitFor(/server restarted/, { from })
  const at = logs.lines.length
  vite.printUrls()
  const printed = logs.lines.slice(at).filter((line) => line.includes('WebSocket:'))
  assert.deepEqual(printed, [`  ➜  WebSocket: ws://127.0.0.1:${port}/api/echo  (ws/echo.py:4)`])
  // A sidecar that starts again (a config change) lists them the same way.
  writeFileSync(path.join(vite.config.root, 'wsside.toml'), 'prefix = "/rt"\n')
  const [listed] = await logs.waitFor(/^\[wsside\] {3}\S*\/rt\/echo .*/, { from: at })
  assert.equal(listed, `[wsside]   ws://127.0.0.1:${port}/rt/echo  (ws/echo.py:4)`)
})
