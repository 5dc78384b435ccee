// What a newcomer reads in Vite's terminal: each of wsside's own lines once prefixed, at its
// level, and a handler's own output marked as the Python process's; a new handler file
// "added", not "reloaded"; a restarted sidecar that serves the same endpoints says so in one
// line instead of listing them again.

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import { createReporter, readyLines } from '../../node_shim/lib/report.js'
import { captureLogger, ECHO, makeProject, selfSignedCert, startViteFor } from './helpers/project.js'
import { connectWs, upgrade } from './helpers/ws-client.js'

const SLOW = `import time

from wsside import Handler

slow = Handler("/slow")


@slow.on_message
async def message(conn, data):
    print("the handler prints this")
    time.sleep(1)
    await conn.send("done")
`

it("the sidecar's own lines are prefixed once, at their level; a handler's print is marked py:", async (t) => {
  const root = makeProject(t, { 'slow.py': SLOW })
  const { port, logs } = await startViteFor(t, root)
  const ws = await connectWs({ port, path: '/api/slow' })
  ws.send('go')
  // Written by the watchdog's thread while the loop is blocked, through Python's logging.
  await logs.waitFor(/the event loop is blocked/)
  assert.equal(await ws.next(), 'done')
  const stall = logs.lines.findIndex((line) => line.includes('the event loop is blocked'))
  assert.match(logs.lines[stall], /^\[wsside\] the event loop is blocked \(over 0\.5 s\) in message \(\S*slow\.py:11\); time\.sleep\(\) blocks the loop: await asyncio\.sleep\(seconds\) instead \(or save/)
  assert.equal(logs.levels[stall], 'warn')
  await logs.waitFor(/the handler prints this/)
  assert.ok(logs.lines.includes('[wsside] py: the handler prints this'), logs.lines.join('\n'))
  assert.ok(!logs.lines.some((line) => /^\[wsside\] (py: )?wsside:/.test(line)), logs.lines.join('\n'))
  ws.close()
})

it('a handler file created while Vite runs is "added"; its next save "reloaded"', async (t) => {
  const root = makeProject(t)
  const { logs } = await startViteFor(t, root)
  const file = path.join(root, 'ws', 'fresh.py')
  let from = logs.lines.length
  writeFileSync(file, 'from wsside import Handler\n\nfresh = Handler("/fresh")\n')
  await logs.waitFor(/^\[wsside\] added ws\/fresh\.py \(\/fresh\) in \d+ ms$/, { from })
  from = logs.lines.length
  writeFileSync(file, 'from wsside import Handler\n\nfresh = Handler("/fresh")\nagain = Handler("/again")\n')
  await logs.waitFor(/^\[wsside\] reloaded ws\/fresh\.py \(\/fresh, \/again\) in \d+ ms$/, { from })
  assert.ok(!logs.lines.slice(from).some((line) => /added ws\/fresh\.py/.test(line)), logs.lines.join('\n'))
})

it('a restarted sidecar serving the same endpoints says so in one line, after a config change or a crash', async (t) => {
  const root = makeProject(t)
  const toml = path.join(root, 'wsside.toml')
  writeFileSync(toml, 'log_level = "info"\n')
  const { port, logs } = await startViteFor(t, root)
  const listed = (line) => line.includes(`ws://127.0.0.1:${port}/api/`)
  // The first start lists them.
  assert.ok(logs.lines.some((line) => line === `[wsside]   ws://127.0.0.1:${port}/api/echo  (ws/echo.py:4)`), logs.lines.join('\n'))
  // A file added since counts as served before the restart.
  writeFileSync(path.join(root, 'ws', 'more.py'), 'from wsside import Handler\n\nmore = Handler("/more")\n')
  await logs.waitFor(/added ws\/more\.py/)
  let from = logs.lines.length
  writeFileSync(toml, 'log_level = "warning"\n')
  const [, pid] = await logs.waitFor(/sidecar ready: pid (\d+)/, { from })
  await logs.waitFor(/^\[wsside\] {3}serving the same 2 endpoints$/, { from })
  assert.ok(!logs.lines.slice(from).some(listed), logs.lines.slice(from).join('\n'))

  from = logs.lines.length
  process.kill(Number(pid), 'SIGKILL')
  await logs.waitFor(new RegExp(`sidecar ready: pid (?!${pid}\\b)\\d+`), { from })
  await logs.waitFor(/^\[wsside\] {3}serving the same 2 endpoints$/, { from })
  assert.ok(!logs.lines.slice(from).some(listed), logs.lines.slice(from).join('\n'))
})

it('a restart with other endpoints, or none, lists them all', () => {
  const reporter = createReporter({ logger: captureLogger().logger, root: '/p', wsBase: () => 'ws://h:1' })
  const echo = { pattern: '/echo', path: '/api/echo', file: '/p/ws/echo.py', line: 4, disabled: false, has_variables: false }
  const moved = { ...echo, line: 5 }
  assert.deepEqual(readyLines(reporter, [echo], null), ['ws://h:1/api/echo  (ws/echo.py:4)'])
  assert.deepEqual(readyLines(reporter, [echo], [echo]), ['serving the same 1 endpoint'])
  assert.deepEqual(readyLines(reporter, [moved], [echo]), ['ws://h:1/api/echo  (ws/echo.py:5)'])
  assert.deepEqual(readyLines(reporter, [], []), ['no handlers yet: add a .py file declaring a Handler'])
})

it('a start whose only handler file failed says so, not "no handlers yet"', async (t) => {
  const { logs } = await startViteFor(t, makeProject(t, { 'chat.py': 'def (:\n' }))
  await logs.waitFor(/sidecar ready: pid \d+/)
  const [line] = await logs.waitFor(/^\[wsside\] {3}no handlers (yet|loaded).*/)
  assert.equal(line, '[wsside]   no handlers loaded: ws/chat.py did not load (its error is above)')
})

const LOCKED = `from wsside import Handler

locked = Handler("/locked", authenticate=lambda request: request.query.get("token") == "right")
`

for (const secure of [false, true]) {
  it(`an upgrade that authenticate refuses is a line in Vite's terminal, the repeats counted (${secure ? 'TLS: piped' : 'handed over'})`, async (t) => {
    const root = makeProject(t, { 'locked.py': LOCKED })
    const server = secure ? { https: selfSignedCert(root) } : {}
    const { port, logs } = await startViteFor(t, root, { server })
    const from = logs.lines.length
    // wsside doctor's probe: doctor reports its 401 itself, and a line would blame a page.
    const probe = await upgrade({ port, path: '/api/locked', secure, headers: { 'User-Agent': 'wsside-doctor' } })
    probe.socket.destroy()
    assert.equal(probe.status, 401)
    for (let i = 0; i < 5; i++) {
      const res = await upgrade({ port, path: '/api/locked?token=wrong', secure })
      res.socket.destroy()
      assert.equal(res.status, 401)
    }
    await logs.waitFor(/refused 4 more upgrades that authenticate refused in the last 5 s \(the last: \/api\/locked\)$/, { from })
    const said = logs.lines.slice(from).filter((line) => line.includes('authenticate refused'))
    assert.deepEqual(said, [
      '[wsside] refused /api/locked: its authenticate refused the client (401 Unauthorized); a page\'s client tries again, with backoff',
      '[wsside] refused 4 more upgrades that authenticate refused in the last 5 s (the last: /api/locked)',
    ])
    assert.ok(!said.join('\n').includes('token'), said.join('\n'))  // the query stays out
    const ok = await connectWs({ port, path: '/api/locked?token=right', secure })
    ok.close()
  })
}
