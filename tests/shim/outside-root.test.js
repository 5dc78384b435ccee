// A handlers folder outside Vite's root (a monorepo: vite.config in apps/web, the handlers in
// apps/api/ws, the config in apps/api/pyproject.toml): Vite's watcher watches only its root,
// and a save there must still start a sidecar that failed again.

import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import { openPage } from './helpers/page.js'
import { ECHO, startViteFor, tempFolder, watcherHears } from './helpers/project.js'
import { connectWs } from './helpers/ws-client.js'

// Exits at import while the project's config (apps/api/pyproject.toml) says "broken".
const BROKEN_BY_CONFIG = `
import os
import pathlib

if "broken" in (pathlib.Path(__file__).resolve().parent.parent / "pyproject.toml").read_text():
    os._exit(3)
`

// Exits at import once apps/api holds a file named "crash": a sidecar in a crash loop.
const CRASHER = `
import os
import pathlib

if (pathlib.Path(__file__).resolve().parent.parent / "crash").exists():
    os._exit(3)
`

const FIXED = 'from wsside import Handler\n\nboom = Handler("/boom")\n'

/**
 * apps/web (Vite's root, no handlers of its own), apps/api/ws with `handlers`, and
 * apps/api/pyproject.toml with `pyproject` (the config beside the handlers folder).
 * @param {import('node:test').TestContext} t
 * @param {Record<string, string>} handlers
 */
function monorepo(t, handlers, pyproject = '[tool.wsside]\nshutdown_timeout = 5\n') {
  const top = tempFolder(t)
  const web = path.join(top, 'apps', 'web')
  const api = path.join(top, 'apps', 'api')
  const ws = path.join(api, 'ws')
  mkdirSync(web, { recursive: true })
  mkdirSync(ws, { recursive: true })
  writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>wsside</title>')
  for (const [name, code] of Object.entries(handlers)) writeFileSync(path.join(ws, name), code)
  writeFileSync(path.join(api, 'pyproject.toml'), pyproject)
  return { web, api, ws }
}

/**
 * Saves `file` (with `write()`) until Vite's watcher reports it, every 50 ms (the wait being on
 * the event): a file the watcher was just told of may be watched a little later. The plugin
 * listened to the watcher before this did: once this hears the save, the plugin has had it.
 * @param {{ watcher: import('node:events').EventEmitter }} server
 * @param {string} file
 * @param {() => void} write
 */
async function saveUntilHeard(server, file, write, ms = 8_000) {
  let heard = false
  const onEvent = (/** @type {string} */ _event, /** @type {string} */ changed) => {
    if (changed === file) heard = true
  }
  server.watcher.on('all', onEvent)
  try {
    const deadline = Date.now() + ms
    while (!heard) {
      if (Date.now() > deadline) throw new Error(`Vite's watcher did not report ${file} within ${ms} ms`)
      write()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    server.watcher.off('all', onEvent)
  }
}

/**
 * What Vite sent `page` (its HMR socket) since its last look, up to a marker sent now.
 * @param {import('vite').ViteDevServer} vite
 */
/** Once Vite's watcher hears the outside folder `ws`, saving the fixed boom.py there starts
 * the sidecar again, and it serves. Resolves with the index of the log's first line after
 * the save. */
async function fixedAndServing(vite, port, logs, ws) {
  await watcherHears(vite, ws)
  const from = logs.lines.length
  writeFileSync(path.join(ws, 'boom.py'), FIXED)
  await logs.waitFor(/\.\.\/api\/ws\/boom\.py changed: starting the sidecar again/, { from })
  await logs.waitFor(/sidecar ready: pid \d+/, { from })
  const echo = await connectWs({ port, path: '/api/echo' })
  echo.send('back')
  assert.equal(await echo.next(), 'back')
  echo.close()
  return from
}

async function viteSent(vite, page) {
  vite.ws.send('wsside-test:marker', {})
  const got = []
  for (;;) {
    const msg = await page.next({ json: true })
    if (msg.event === 'wsside-test:marker') return got
    got.push(msg)
  }
}

it('a save of a .py file in a handlers folder outside Vite\'s root starts a sidecar that failed to start again, ' +
  'and reloads no page', async (t) => {
  const { web, ws } = monorepo(t, { 'echo.py': ECHO, 'boom.py': 'import os\n\nos._exit(3)\n' })
  const { vite, port, logs } = await startViteFor(t, web, { options: { handlers: '../api/ws' }, waitReady: false })
  const [report] = await logs.waitFor(/exited with code 3 while importing \.\.\/api\/ws\/boom\.py before it was ready[\s\S]*/)
  assert.ok(report.includes('the next save of a .py file'), report)
  const page = await openPage(port)
  const from = await fixedAndServing(vite, port, logs, ws)
  // A file of the sidecar's, not of the page: Vite neither reloads nor updates anything.
  const reloads = (await viteSent(vite, page)).filter((msg) => ['full-reload', 'update', 'prune'].includes(msg.type))
  assert.deepEqual(reloads, [])
  assert.ok(!logs.lines.slice(from).some((line) => /page reload|hmr update/.test(line)), logs.lines.join('\n'))
  page.close()
})

it('a save of the pyproject.toml beside a handlers folder outside Vite\'s root starts a failed sidecar again', async (t) => {
  const { web, api } = monorepo(t, { 'echo.py': ECHO, 'boom.py': BROKEN_BY_CONFIG },
    '[tool.wsside]\nshutdown_timeout = 5  # broken\n')
  const { vite, port, logs } = await startViteFor(t, web, { options: { handlers: '../api/ws' }, waitReady: false })
  await logs.waitFor(/exited with code 3 while importing \.\.\/api\/ws\/boom\.py before it was ready/)
  const from = logs.lines.length
  const pyproject = path.join(api, 'pyproject.toml')
  await saveUntilHeard(vite, pyproject, () => writeFileSync(pyproject, '[tool.wsside]\nshutdown_timeout = 5\n'))
  await logs.waitFor(/\.\.\/api\/pyproject\.toml changed: starting the sidecar again/, { from })
  await logs.waitFor(/sidecar ready: pid \d+/, { from })
  const echo = await connectWs({ port, path: '/api/echo' })
  echo.send('back')
  assert.equal(await echo.next(), 'back')
  echo.close()
})

it('after a crash loop, a save of a .py file in a handlers folder outside Vite\'s root starts the sidecar again', async (t) => {
  const { web, api, ws } = monorepo(t, { 'echo.py': ECHO, 'crasher.py': CRASHER })
  const { vite, port, logs, pid } = await startViteFor(t, web, { options: { handlers: '../api/ws' } })
  await watcherHears(vite, ws)
  let from = logs.lines.length
  writeFileSync(path.join(api, 'crash'), '')
  process.kill(pid, 'SIGKILL')
  const [report] = await logs.waitFor(/5 crashes within 30 s, so it is not restarted[\s\S]*/, { from, ms: 20_000 })
  assert.ok(report.includes('the next save of a .py file'), report)
  rmSync(path.join(api, 'crash'))
  from = logs.lines.length
  writeFileSync(path.join(ws, 'crasher.py'), `${CRASHER}\n# fixed\n`)
  await logs.waitFor(/\.\.\/api\/ws\/crasher\.py changed: starting the sidecar again/, { from })
  await logs.waitFor(/sidecar ready: pid \d+/, { from })
  const echo = await connectWs({ port, path: '/api/echo' })
  echo.send('back')
  assert.equal(await echo.next(), 'back')
  echo.close()
})

it('a handlers folder outside Vite\'s root set by wsside.toml beside vite.config: a save there starts the sidecar ' +
  'again', async (t) => {
  const { web, ws } = monorepo(t, { 'echo.py': ECHO, 'boom.py': 'import os\n\nos._exit(3)\n' })
  writeFileSync(path.join(web, 'wsside.toml'), 'handlers = "../api/ws"\n')
  const { vite, port, logs } = await startViteFor(t, web, { waitReady: false })
  await logs.waitFor(/exited with code 3 while importing \.\.\/api\/ws\/boom\.py before it was ready/)
  // The folder is known once the sidecar names a file in it: the watcher may hear it later.
  await fixedAndServing(vite, port, logs, ws)
})
