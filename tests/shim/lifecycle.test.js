// Supervision: Vite killed with SIGKILL, sidecar crashes and restarts, crash loops.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { before, describe, it } from 'node:test'
import { removeSocketFolder } from '../../node_shim/lib/sidecar.js'
import { cleanupOf, suiteCleanup } from './helpers/cleanup.js'
import { ECHO, PYTHON, REPO, isAlive, makeProject, startViteFor, startViteWithConfigFile, startViteWithOptionFile, tempFolder, waitForExit, watcherHears } from './helpers/project.js'
import { connectWs, upgrade, withTimeout } from './helpers/ws-client.js'

const here = path.dirname(fileURLToPath(import.meta.url))

// Exits at import once the project holds a file named "crash": a sidecar that cannot start.
const CRASHER = `
import os
import pathlib

if (pathlib.Path(__file__).resolve().parent.parent / "crash").exists():
    os._exit(3)
`

it('kill -9 of the Vite process makes the sidecar exit within 2 s', async (t) => {
  const root = makeProject(t)
  const child = spawn(process.execPath, [path.join(here, 'helpers/vite-child.js'), root], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  /** @type {{ port: number, sidecarPid: number } | null} */
  let started = null
  // The Vite child, then its sidecar should it outlive the child (what this test looks for).
  cleanupOf(t).add(() => {
    if (started && isAlive(started.sidecarPid)) process.kill(started.sidecarPid, 'SIGKILL')
  })
  cleanupOf(t).add(async () => {
    child.kill('SIGKILL')
    await exited
  })
  const line = await withTimeout(new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`vite child exited early (${code})`)))
  }), 20_000, 'the Vite child to report ready')
  started = JSON.parse(line)
  const { port, sidecarPid } = started
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('alive')
  assert.equal(await ws.next(), 'alive')
  child.kill('SIGKILL')
  const took = await waitForExit(sidecarPid, 5_000)
  assert.ok(took < 2_000, `the sidecar took ${took} ms to exit`)
  // Its clients were told it is going away rather than left hanging.
  assert.equal((await ws.closed).code, 1001)
})

describe('sidecar crashes', () => {
  const cleanup = suiteCleanup()
  let root, port, logs, pid

  before(async () => {
    root = makeProject(cleanup, { 'echo.py': ECHO, 'crasher.py': CRASHER })
    ;({ port, logs, pid } = await startViteFor(cleanup, root))
  })

  it('is reported and restarted; an upgrade during the restart waits for it', async () => {
    const from = logs.lines.length
    process.kill(pid, 'SIGKILL')
    await logs.waitFor(new RegExp(`the sidecar \\(pid ${pid}\\) was killed by SIGKILL; restarting in \\d+ ms`), { from })
    // Sent while no sidecar runs: held until the new one is ready.
    const ws = await connectWs({ port, path: '/api/echo' })
    ws.send('after crash')
    assert.equal(await ws.next(), 'after crash')
    const ready = await logs.waitFor(/sidecar ready: pid (\d+)/, { from })
    assert.notEqual(Number(ready[1]), pid)
    assert.ok(!isAlive(pid))
    pid = Number(ready[1])
    ws.close()
  })

  it('stops restarting after a crash loop, with a clear message, and answers 503 at once', async () => {
    const from = logs.lines.length
    writeFileSync(path.join(root, 'crash'), '')
    process.kill(pid, 'SIGKILL')
    await logs.waitFor(/5 crashes within 30 s, so it is not restarted/, { from, ms: 20_000 })
    // Five crashes in the window, the one of the previous test included: four restarts.
    assert.equal(logs.lines.filter((l) => /restarting in/.test(l)).length, 4)
    const started = Date.now()
    const res = await upgrade({ port, path: '/api/echo' })
    assert.equal(res.statusLine, 'HTTP/1.1 503 Service Unavailable')
    assert.equal(res.headers.connection, 'close')
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body))
    assert.ok(Date.now() - started < 2_000)
  })
})

// The first start blocks in an import until it is killed; later ones load at once.
const FIRST_START_HANGS = `
import os
import pathlib
import sys
import time

marker = pathlib.Path(__file__).resolve().parent.parent / "started-once"
if not marker.exists():
    marker.write_text("")
    print(f"first start hangs: pid {os.getpid()}", file=sys.stderr, flush=True)
    time.sleep(60)
`

describe('a sidecar that ends by a signal before it is ready', () => {
  it('killed from outside (SIGKILL): started again, as after a crash', async (t) => {
    const root = makeProject(t, { 'echo.py': ECHO, 'hangs.py': FIRST_START_HANGS })
    const { port, logs } = await startViteFor(t, root, { waitReady: false })
    const [, pid] = await logs.waitFor(/first start hangs: pid (\d+)/)
    process.kill(Number(pid), 'SIGKILL')
    await logs.waitFor(new RegExp(`the sidecar \\(pid ${pid}\\) was killed by SIGKILL before it was ready; restarting in \\d+ ms`))
    const ws = await connectWs({ port, path: '/api/echo' })
    ws.send('served')
    assert.equal(await ws.next(), 'served')
    ws.close()
    assert.ok(!logs.lines.some((line) => /not restarted/.test(line)), logs.lines.join('\n'))
  })

  it('crashed by itself (SIGSEGV): the stack and one report, not restarted', async (t) => {
    const root = makeProject(t, { 'segv.py': 'import ctypes\n\nctypes.string_at(0)\n' })
    const { logs } = await startViteFor(t, root, { waitReady: false })
    const [report] = await logs.waitFor(/the Python sidecar \(pid \d+\) was killed by SIGSEGV while importing ws\/segv\.py before it was ready[\s\S]*/)
    assert.ok(report.includes('it crashed, so it is not restarted. The Python stack above says where'), report)
    assert.ok(!report.includes('To choose the interpreter'), report)
    assert.ok(logs.lines.some((line) => line.includes('segv.py", line 3')), logs.lines.join('\n'))
    assert.ok(!logs.lines.some((line) => /restarting in/.test(line)), logs.lines.join('\n'))
  })
})

it('after a crash removes the socket folder only when it has the shape the sidecar makes', (t) => {
  // The path comes from the sidecar's ready message: nothing else may be deleted by it.
  const base = tempFolder(t)
  const made = (folder, files) => {
    mkdirSync(path.join(base, folder))
    for (const f of files) writeFileSync(path.join(base, folder, f), '')
    return path.join(base, folder)
  }
  const ours = made('wsside-ab_12cd3', ['sidecar.sock'])
  const crowded = made('wsside-zz99yy88', ['sidecar.sock', 'notes.txt'])
  const other = made('project', ['sidecar.sock', 'main.py'])
  removeSocketFolder(path.join(ours, 'sidecar.sock'))
  removeSocketFolder(path.join(crowded, 'sidecar.sock'))
  removeSocketFolder(path.join(other, 'sidecar.sock'))
  removeSocketFolder(path.join(base, 'wsside-abcdefgh', 'sidecar.sock')) // already gone
  removeSocketFolder('/nonexistent')
  assert.ok(!existsSync(ours))
  assert.ok(existsSync(path.join(crowded, 'notes.txt')) && !existsSync(path.join(crowded, 'sidecar.sock')))
  assert.ok(existsSync(path.join(other, 'sidecar.sock')) && existsSync(path.join(other, 'main.py')))
})

it('a vite.config edit that changes wsside\'s options: the old sidecar\'s clients get 1001, the terminal says why', async (t) => {
  const root = makeProject(t)
  mkdirSync(path.join(root, 'ws2'))
  writeFileSync(path.join(root, 'ws2', 'echo.py'), ECHO)
  // Saving the handlers folder (read from a file by vite.config) and restarting Vite is the edit.
  const { vite, logs, pid: first, edit } = await startViteWithOptionFile(t, root, 'handlers', 'ws')
  const ws = await connectWs({ port: vite.httpServer.address().port, path: '/api/echo' })
  ws.send('before')
  assert.equal(await ws.next(), 'before')
  const from = logs.lines.length
  edit('ws2')
  await vite.restart()
  assert.deepEqual(await ws.closed, { code: 1001, reason: 'Going Away' })
  await logs.waitFor(new RegExp(`vite.config changed wsside's \`handlers\`: a new sidecar takes over; the previous one ` +
    `\\(pid ${first}\\) closes its connections with 1001 Going Away, and clients reconnect to the new one`), { from })
  const second = Number((await logs.waitFor(/sidecar ready: pid (\d+)/, { from }))[1])
  assert.notEqual(second, first)
  await waitForExit(first)
  const again = await connectWs({ port: vite.httpServer.address().port, path: '/api/echo' })
  again.send('after')
  assert.equal(await again.next(), 'after')
  again.close()
})

const SAYS_SECRET = `
import os
from wsside import Handler

secret = Handler("/secret")

@secret.on_connect
async def hello(conn, request):
    await conn.send(os.environ.get("SESSION_SECRET", "unset"))
`

it('a variable kept in .env reaches the handlers through loadEnv and the env option (README "Secrets in .env"); saving .env starts a new sidecar with its new value', async (t) => {
  const root = makeProject(t, { 'secret.py': SAYS_SECRET })
  writeFileSync(path.join(root, '.env'), 'SESSION_SECRET=first\nVITE_TITLE=page\n')
  const { vite, port, logs, pid: first } = await startViteWithConfigFile(t, root, [
    'import { loadEnv } from VITE_MODULE',
    `import wsside from ${JSON.stringify(path.join(REPO, 'node_shim/index.js'))}`,
    'export default ({ mode }) => {',
    "  const env = loadEnv(mode, new URL('.', import.meta.url).pathname, '')",
    `  return { plugins: [wsside({ python: ${JSON.stringify(PYTHON)}, env: { SESSION_SECRET: env.SESSION_SECRET ?? '' } })] }`,
    '}',
  ], 'vite.config.mjs')
  const ws = await connectWs({ port, path: '/api/secret' })
  assert.equal(await ws.next(), 'first')
  await watcherHears(vite, root)
  const from = logs.lines.length
  writeFileSync(path.join(root, '.env'), 'SESSION_SECRET=second\nVITE_TITLE=page\n')
  // Vite restarts its server for a saved .env; the plugin's env changed with it.
  assert.deepEqual(await ws.closed, { code: 1001, reason: 'Going Away' })
  await logs.waitFor(/vite.config \(or a .env file it loads\) changed wsside's `env`: a new sidecar takes over/, { from })
  const second = Number((await logs.waitFor(/sidecar ready: pid (\d+)/, { from }))[1])
  assert.notEqual(second, first)
  const again = await connectWs({ port: vite.httpServer.address().port, path: '/api/secret' })
  assert.equal(await again.next(), 'second')
  again.close()
})

it('a sidecar that a handler file ended before it was ready starts again when the file is saved fixed', async (t) => {
  const root = makeProject(t, { 'echo.py': ECHO, 'boom.py': 'import os\n\nos._exit(3)\n' })
  const { vite, port, logs } = await startViteFor(t, root, { waitReady: false })
  const [report] = await logs.waitFor(/exited with code 3 while importing ws\/boom\.py before it was ready[\s\S]*/)
  assert.ok(report.includes('the next save of a .py file of the project (or of wsside.toml, pyproject.toml or vite.config) ' +
    'starts the sidecar again'), report)
  const refused = await upgrade({ port, path: '/api/echo' })
  assert.equal(refused.status, 503)
  refused.socket.destroy()
  await watcherHears(vite, path.join(root, 'ws'))
  const from = logs.lines.length
  writeFileSync(path.join(root, 'ws', 'boom.py'), 'from wsside import Handler\n\nboom = Handler("/boom")\n')
  await logs.waitFor(/ws\/boom\.py changed: starting the sidecar again/, { from })
  await logs.waitFor(/sidecar ready: pid \d+/, { from })
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('back')
  assert.equal(await ws.next(), 'back')
  ws.close()
})

it('a sidecar whose interpreter cannot run is not started again by a saved .py file', async (t) => {
  const root = makeProject(t)
  const { vite, logs } = await startViteFor(t, root, { options: { python: path.join(root, 'no-such-python') }, waitReady: false })
  await logs.waitFor(/cannot start the Python sidecar: .*no-such-python was not found/)
  await watcherHears(vite, path.join(root, 'ws'))
  const from = logs.lines.length
  const file = path.join(root, 'ws', 'added.py')
  // The plugin listened to the watcher before this test did: when the test hears of the
  // new file, the plugin has had it.
  const heard = new Promise((resolve) => {
    const added = (/** @type {string} */ addedFile) => {
      if (addedFile !== file) return
      vite.watcher.off('add', added)
      resolve(undefined)
    }
    vite.watcher.on('add', added)
  })
  writeFileSync(file, ECHO)
  await withTimeout(heard, 10_000, "Vite's watcher to see the save")
  assert.ok(!logs.lines.slice(from).some((line) => /starting the sidecar again/.test(line)), logs.lines.join('\n'))
})

it('saving the config file the `config` option names also starts a failed sidecar again', async (t) => {
  const root = makeProject(t, { 'echo.py': ECHO, 'boom.py': 'import os\n\nos._exit(3)\n' })
  mkdirSync(path.join(root, 'conf'))
  writeFileSync(path.join(root, 'conf', 'ws.toml'), 'handlers = "../ws"\n')
  const { vite, logs } = await startViteFor(t, root, { options: { config: 'conf/ws.toml' }, waitReady: false })
  await logs.waitFor(/exited with code 3 while importing ws\/boom\.py before it was ready/)
  await watcherHears(vite, path.join(root, 'conf'))
  const from = logs.lines.length
  writeFileSync(path.join(root, 'conf', 'ws.toml'), 'handlers = "../ws"  # saved\n')
  await logs.waitFor(/conf\/ws\.toml changed: starting the sidecar again/, { from })
})
