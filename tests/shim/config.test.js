// A config file that is invalid when Vite starts: the error stands in Vite's terminal, upgrades
// get 503 at once (not after the wait for a starting sidecar), and the sidecar serves once the
// file is fixed, without a restart of Vite.

import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import { message } from '../../node_shim/lib/protocol.js'
import { createReporter } from '../../node_shim/lib/report.js'
import { SidecarProcess } from '../../node_shim/lib/sidecar.js'
import { cleanupOf } from './helpers/cleanup.js'
import { captureLogger, makeProject, PYTHON, REPO, startViteFor, waitForExit } from './helpers/project.js'
import { connectWs, upgrade } from './helpers/ws-client.js'

it('an invalid wsside.toml at start: one line naming it, 503 at once, and the sidecar serves once it is fixed', async (t) => {
  const root = makeProject(t)
  const toml = path.join(root, 'wsside.toml')
  writeFileSync(toml, 'hearbeat = 30\nport = "x"\n')
  let sidecarPid = null
  // After Vite closes (the step below runs first): the sidecar it started is gone too.
  cleanupOf(t).add(async () => {
    if (sidecarPid !== null) await waitForExit(sidecarPid)
  })
  const { port, logs } = await startViteFor(t, root, { waitReady: false })
  // Each mistake of the file, the second on a line of its own under the first.
  await logs.waitFor(/^\[wsside\] invalid config in wsside\.toml:1: key "hearbeat": [^\n]+\n  line 2: key "port": expected an integer from 0 to 65535, got "x"$/)
  assert.equal(logs.lines.filter((line) => line.includes('invalid config')).length, 1)
  const res = await upgrade({ port, path: '/api/echo' })
  assert.equal(res.statusLine, 'HTTP/1.1 503 Service Unavailable')
  assert.equal(res.headers.connection, 'close')
  const [refused] = await logs.waitFor(/refused \/api\/echo: .*/)
  assert.equal(refused, 'refused /api/echo: wsside.toml has an error (above); the sidecar serves once it is fixed; ' +
    'the upgrades refused until it is ready are counted, not written')
  // Answered without the wait for a starting sidecar: nothing became ready before the 503.
  assert.ok(!logs.lines.some((line) => /sidecar ready/.test(line)), logs.lines.join('\n'))
  for (const advice of ['To choose the interpreter', 'not restarted']) {
    assert.ok(!logs.lines.some((line) => line.includes(advice)), `no ${advice} in:\n${logs.lines.join('\n')}`)
  }

  const from = logs.lines.length
  writeFileSync(toml, '[defaults]\nheartbeat = 30\n')
  sidecarPid = Number((await logs.waitFor(/sidecar ready: pid (\d+)/, { from }))[1])
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('fixed')
  assert.equal(await ws.next(), 'fixed')
  ws.close()
  assert.equal((await ws.closed).code, 1000)
})

it('a backplane in wsside.toml that this Python cannot serve (no redis-py) stands as the file\'s error until the file is saved without it', async (t) => {
  const root = makeProject(t)
  const toml = path.join(root, 'wsside.toml')
  writeFileSync(toml, 'backplane = "redis://127.0.0.1:6379/0"\n')
  // The sidecar's Python without the wsside[redis] extra: its sitecustomize hides redis-py.
  const site = path.join(root, 'no-redis')
  mkdirSync(site)
  writeFileSync(path.join(site, 'sitecustomize.py'), "import sys\n\nsys.modules['redis'] = None\n")
  const { port, logs } = await startViteFor(t, root, { waitReady: false, options: { env: { PYTHONPATH: site } } })
  // The install names the sidecar's Python and the wsside it has (this repository's, editable).
  const install = `${PYTHON} -m pip install -e '${REPO}[redis]'`
  const [line] = await logs.waitFor(/^\[wsside\] invalid config in wsside\.toml:1: key "backplane": .*/)
  assert.equal(line, `[wsside] invalid config in wsside.toml:1: key "backplane": a redis:// backplane needs redis-py: ${install}`)
  assert.ok(!logs.lines.some((line) => /exited with code/.test(line)), logs.lines.join('\n'))
  const from = logs.lines.length
  writeFileSync(toml, '')
  await logs.waitFor(/sidecar ready: pid (\d+)/, { from })
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('served')
  assert.equal(await ws.next(), 'served')
  ws.close()
})

/** A SidecarProcess with a stand-in child, told what a sidecar says by `say(type, fields)`. */
function sidecarWithoutProcess(root) {
  const proc = new SidecarProcess({ key: 'test', python: PYTHON, rule: 'test', chosenBy: 'test', args: [], cwd: root, env: {} })
  proc.addReporter(createReporter({ logger: captureLogger().logger, root }))
  const child = new EventEmitter()
  proc.child = /** @type {any} */ (child)
  return { proc, say: (type, fields = {}) => proc._onMessage(child, message(type, fields)) }
}

it('whenReady: a config error before `ready` ends the wait at once; a load error, or a config error after `ready`, does not', async (t) => {
  const root = makeProject(t)
  const toml = path.join(root, 'wsside.toml')
  const { proc, say } = sidecarWithoutProcess(root)
  // Long enough that a test waiting it out would time out.
  const waiting = proc.whenReady(60_000)
  say('load_error', { file: path.join(root, 'ws', 'echo.py'), message: 'boom' })
  assert.equal(proc.waitsForConfigFix, null)
  say('config_error', { file: toml, line: 1, key: 'hearbeat', message: 'unknown key' })
  assert.equal(await waiting, null)
  assert.equal(proc.waitsForConfigFix, toml)
  assert.equal(await proc.whenReady(60_000), null)

  const ready = { pid: 1, protocol: 2, version: '0', python: 'py', prefixes: ['/api'], socket: '', handlers: [] }
  say('ready', ready)
  assert.equal((await proc.whenReady(60_000))?.pid, 1)
  assert.equal(proc.waitsForConfigFix, null)
  // Once serving, a later bad edit is reported but the sidecar keeps serving the old settings.
  say('config_error', { file: toml, line: 1, key: 'prefx', message: 'unknown key' })
  assert.equal(proc.waitsForConfigFix, null)
  assert.equal((await proc.whenReady(60_000))?.pid, 1)
})

it('a config change under Vite: one line says the sidecar restarts and closes the connections, and the new log level holds', async (t) => {
  const root = makeProject(t)
  const toml = path.join(root, 'wsside.toml')
  writeFileSync(toml, 'log_level = "info"\n')
  const { port, logs } = await startViteFor(t, root)
  const open = await connectWs({ port, path: '/api/echo' })
  open.send('quiet')
  assert.equal(await open.next(), 'quiet')
  let from = logs.lines.length
  writeFileSync(toml, 'log_level = "debug"\n')
  await logs.waitFor(/^\[wsside\] wsside\.toml changed: restarting the server in the same sidecar process \(1 connection closed with 1012, to reconnect\)$/, { from })
  assert.equal((await open.closed).code, 1012)
  await logs.waitFor(/sidecar ready: pid \d+/, { from })
  // At debug, the access log shows under Vite.
  const loud = await connectWs({ port, path: '/api/echo' })
  await logs.waitFor(/"WebSocket \/api\/echo" 101/, { from })
  loud.close()
  await loud.closed
  await logs.waitFor(/"WebSocket \/api\/echo" closed 1000/, { from })

  from = logs.lines.length
  writeFileSync(toml, 'log_level = "info"\n')
  await logs.waitFor(/^\[wsside\] wsside\.toml changed: restarting the server in the same sidecar process$/, { from })
  await logs.waitFor(/sidecar ready: pid \d+/, { from })
  const quiet = await connectWs({ port, path: '/api/echo' })
  quiet.send('back at info')
  assert.equal(await quiet.next(), 'back at info')
  quiet.close()
  await quiet.closed
  // Back at info: this connection wrote no access line (the echo above came after its 101).
  assert.ok(!logs.lines.slice(from).some((line) => line.includes('"WebSocket /api/echo"')), logs.lines.slice(from).join('\n'))
})

it('a backplane in wsside.toml is named on the ready line, its password masked', async (t) => {
  const root = makeProject(t)
  // Nothing listens on port 1: the sidecar serves all the same (an outage line follows).
  writeFileSync(path.join(root, 'wsside.toml'), 'backplane = "redis://:s3cret@127.0.0.1:1/0"\n')
  const { logs } = await startViteFor(t, root)
  const [ready] = await logs.waitFor(/sidecar ready: pid \d+.*/)
  assert.match(ready, /; backplane redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0$/)
  assert.ok(!logs.lines.some((line) => line.includes('s3cret')), logs.lines.join('\n'))
})
