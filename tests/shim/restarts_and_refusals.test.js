// A sidecar stopped from outside (`kill PID`, README's way to reload modules that hot reload
// does not) starts again at once and is no crash; one killed by SIGKILL over and over (the
// out-of-memory killer) fails with a report that says so; while it is down, the upgrades of
// pages reconnecting on several paths make one line, and their count comes before the
// `sidecar ready` line, never after it. Real Vite, real sidecar processes.

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { before, describe, it } from 'node:test'
import { suiteCleanup } from './helpers/cleanup.js'
import { ECHO, makeProject, startViteFor, watcherHears } from './helpers/project.js'
import { connectWs, upgrade, WsClient } from './helpers/ws-client.js'

const CHAT = 'from wsside import Handler\n\nchat = Handler("/chat")\n'
const GAME = 'from wsside import Handler\n\ngame = Handler("/game/{room}")\n'
const ON_SAVE = 'the next save of a .py file of the project (or of wsside.toml, pyproject.toml or vite.config) ' +
  'starts the sidecar again.'

describe('stopped, killed, and refused while down', () => {
  const cleanup = suiteCleanup()
  let root, vite, port, logs, pid

  before(async () => {
    root = makeProject(cleanup, { 'echo.py': ECHO, 'chat.py': CHAT, 'game.py': GAME })
    ;({ vite, port, logs, pid } = await startViteFor(cleanup, root))
  })

  it('kill PID five times in a row: started again at once each time, no crash counted', async () => {
    const from = logs.lines.length
    for (let i = 0; i < 5; i++) {
      const at = logs.lines.length
      process.kill(pid, 'SIGTERM')
      const [line] = await logs.waitFor(/the sidecar \(pid \d+\) was stopped .*/, { from: at })
      assert.equal(line, `the sidecar (pid ${pid}) was stopped (exit 0, as after kill PID): starting it again`)
      // The next process is spawned on the next turn (a timer Vite's own stop would clear):
      // the next line is its start, no backoff.
      const said = logs.lines.findIndex((l, n) => n >= at && l.endsWith(line))
      await logs.waitFor(/^\[wsside\] starting \S+ \(interpreter rule: /, { from: said })
      assert.match(logs.lines[said + 1], /^\[wsside\] starting \S+ \(interpreter rule: /)
      pid = Number((await logs.waitFor(/sidecar ready: pid (\d+)/, { from: at }))[1])
    }
    const wrong = logs.lines.slice(from).filter((l) => /restarting in|crashes within|not restarted|error/.test(l))
    assert.deepEqual(wrong, [])
  })

  it('five SIGKILLs within 30 s: not restarted, the report says they came from outside', async () => {
    const from = logs.lines.length
    for (let i = 0; i < 4; i++) {
      const at = logs.lines.length
      process.kill(pid, 'SIGKILL')
      pid = Number((await logs.waitFor(/sidecar ready: pid (\d+)/, { from: at, ms: 20_000 }))[1])
    }
    process.kill(pid, 'SIGKILL')
    const [report] = await logs.waitFor(/the sidecar \(pid \d+\) was killed by SIGKILL 5 times[\s\S]*/, { from })
    assert.equal(report, `the sidecar (pid ${pid}) was killed by SIGKILL 5 times within 30 s, from outside the ` +
      'process (kill -9, or the system\'s out-of-memory killer: `dmesg` or `journalctl -k` says which), so it is ' +
      `not restarted.\n  Once nothing kills it, ${ON_SAVE}`)
    // The five stops before were no crashes: the fifth SIGKILL is the limit.
    assert.equal(logs.lines.slice(from).filter((l) => /restarting in/.test(l)).length, 4)
  })

  it('while it is down, pages reconnecting on three paths make one refusal line', async () => {
    const from = logs.lines.length
    for (let round = 0; round < 4; round++) {
      for (const where of ['/api/chat', '/api/echo', '/api/game/r1']) {
        const res = await upgrade({ port, path: where })
        assert.equal(res.status, 503)
        res.socket.destroy()
      }
    }
    assert.deepEqual(logs.lines.slice(from).filter((l) => l.includes('refused')), [
      '[wsside] refused /api/chat: the Python sidecar is not ready (failed); the upgrades refused until it is ' +
        'ready are counted, not written',
    ])
  })

  it('once it is ready again, the refusals counted are written before its ready line, and none after it', async () => {
    await watcherHears(vite, path.join(root, 'ws'))
    const from = logs.lines.length
    writeFileSync(path.join(root, 'ws', 'echo.py'), `${ECHO}\n# saved\n`)
    await logs.waitFor(/ws\/echo\.py changed: starting the sidecar again/, { from })
    const [ready] = await logs.waitFor(/sidecar ready: pid \d+.*/, { from })
    const at = logs.lines.findIndex((l, n) => n >= from && l.endsWith(ready))
    assert.equal(logs.lines[at - 1], '[wsside] refused 11 more upgrades while the sidecar was not ready ' +
      '(on /api/chat, /api/echo and /api/game/r1)')
    // Closing writes whatever is still counted.
    await vite.close()
    assert.deepEqual(logs.lines.slice(at).filter((l) => l.includes('refused')), [])
  })
})

// Ends its process with exit code 0 half a second after its import, once the project holds a
// file named "exit0": a process that stops itself, not a person's kill PID.
const EXITS_SOON = `import os
import pathlib
import threading

if (pathlib.Path(__file__).resolve().parent.parent / "exit0").exists():
    threading.Timer(0.5, os._exit, [0]).start()
`

it('a process that keeps exiting with code 0 is not started again past 10 stops within 30 s', { timeout: 60_000 }, async (t) => {
  const root = makeProject(t, { 'echo.py': ECHO, 'quits.py': EXITS_SOON })
  const { logs, pid } = await startViteFor(t, root)
  writeFileSync(path.join(root, 'exit0'), '')
  const from = logs.lines.length
  process.kill(pid, 'SIGTERM')
  const [report] = await logs.waitFor(/the sidecar \(pid \d+\) was stopped \(exit 0\) 10 times[\s\S]*/, { from, ms: 45_000 })
  assert.ok(report.endsWith(' 10 times within 30 s, so it is not restarted: that many is no kill PID after an edit, but ' +
    'something that ends it: sys.exit(0) or os._exit(0) in a handler file, a callback or a library it calls, or a ' +
    `script sending SIGTERM.\n  Find what ends it: ${ON_SAVE}`), report)
  assert.ok(!report.includes('error above'), report)
  const stops = logs.lines.slice(from).filter((l) => /was stopped \(exit 0, as after kill PID\): starting it again/.test(l))
  assert.equal(stops.length, 9)
  assert.ok(!logs.lines.slice(from).some((l) => /restarting in/.test(l)), logs.lines.slice(from).join('\n'))
})

// Its on_close takes a second: the stopping process drains that long after a kill PID.
const SLOW_CLOSE = `import asyncio

from wsside import Handler

slow = Handler("/slow")


@slow.on_close
async def bye(conn, code, reason, initiated_by_client):
    await asyncio.sleep(1)
`

it('an upgrade while a stopped sidecar drains waits for the next one, not 503', async (t) => {
  const root = makeProject(t, { 'echo.py': ECHO, 'slow.py': SLOW_CLOSE })
  const { port, logs, pid } = await startViteFor(t, root)
  const held = await connectWs({ port, path: '/api/slow' })
  const from = logs.lines.length
  process.kill(pid, 'SIGTERM')
  // The 1001 comes after the sidecar stopped admitting upgrades (it said so first).
  assert.equal((await held.closed).code, 1001)
  const res = await upgrade({ port, path: '/api/echo' })
  assert.equal(res.status, 101, `${res.statusLine}: ${res.body}`)
  const echo = new WsClient(res.socket, res.rest)
  echo.send('after')
  assert.equal(await echo.next(), 'after')
  const [, next] = await logs.waitFor(/sidecar ready: pid (\d+)/, { from })
  assert.notEqual(Number(next), pid)
  assert.deepEqual(logs.lines.slice(from).filter((l) => l.includes('refused')), [])
  echo.close()
  await echo.closed
})
