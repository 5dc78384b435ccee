// A throw-away Vite project with Python handler files, a Vite server (dev or preview) with
// the shim and a real sidecar, and a logger the tests can wait on.

import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import wsside from 'vite-plugin-wsside'
import { cleanupOf } from './cleanup.js'
import { withTimeout, WAIT_MS } from './ws-client.js'

// WSSIDE_VITE=5|6|7|8 picks the Vite major the tests run on (package.json: npm aliases
// vite5, vite6 and vite7 beside vite itself, the newest); default: the newest.
export const VITE_PACKAGES = { 5: 'vite5', 6: 'vite6', 7: 'vite7', 8: 'vite' }
const major = process.env.WSSIDE_VITE ?? '8'
if (!(major in VITE_PACKAGES)) throw new Error(`WSSIDE_VITE=${major}: expected one of ${Object.keys(VITE_PACKAGES)}`)
/** The Vite under test. */
export const vite = await import(VITE_PACKAGES[major])
if (!vite.version.startsWith(`${major}.`)) throw new Error(`WSSIDE_VITE=${major}, but got Vite ${vite.version}`)
const { createServer, preview } = vite

const here = path.dirname(fileURLToPath(import.meta.url))
export const REPO = path.resolve(here, '../../..')
export const PYTHON = path.join(REPO, '.venv/bin/python')

// The shim's debug lines (which forwarding path a connection took) are part of what we test.
process.env.DEBUG = 'wsside'

export const ECHO = `
from wsside import Handler

echo = Handler("/echo")

@echo.on_message
async def message(conn, data):
    await conn.send(data)
`

/**
 * An empty temp folder, removed when `owner` ends (a test's context `t` or a suiteCleanup():
 * helpers/cleanup.js), however the test ends.
 */
export function tempFolder(owner) {
  const cleanup = cleanupOf(owner)
  const folder = mkdtempSync(path.join(tmpdir(), 'wsside-shim-'))
  cleanup.add(() => removeProject(folder))
  return folder
}

/**
 * A temp folder with `ws/<name>` for each entry of `handlers`; `index.html` for Vite. Removed
 * when `owner` ends, as `tempFolder`.
 */
export function makeProject(owner, handlers = { 'echo.py': ECHO }) {
  const root = tempFolder(owner)
  mkdirSync(path.join(root, 'ws'))
  for (const [name, code] of Object.entries(handlers)) writeFileSync(path.join(root, 'ws', name), code)
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>wsside</title>')
  return root
}

export function removeProject(root) {
  rmSync(root, { recursive: true, force: true })
}

/**
 * A Vite logger that records every line, and in `levels` the level of each (`info`, `warn`,
 * `error`); `waitFor(re)` resolves with the first match.
 */
export function captureLogger() {
  const lines = []
  const levels = []
  const waiters = []
  const at = (level) => (msg) => {
    levels.push(level)
    record(msg)
  }
  const record = (msg) => {
    lines.push(msg)
    for (const w of [...waiters]) {
      const m = msg.match(w.re)
      if (m) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(m)
      }
    }
  }
  const logger = {
    hasWarned: false,
    info: at('info'),
    warn: at('warn'),
    warnOnce: at('warn'),
    error: at('error'),
    clearScreen() {},
    hasErrorLogged: () => false,
  }
  return {
    logger,
    lines,
    levels,
    /** Resolves with the match of the first line (past or future, after `from`) matching `re`. */
    waitFor(re, { ms = WAIT_MS, from = 0 } = {}) {
      for (const line of lines.slice(from)) {
        const m = line.match(re)
        if (m) return Promise.resolve(m)
      }
      return withTimeout(new Promise((resolve) => waiters.push({ re, resolve })), ms, `a log line matching ${re}`)
    },
  }
}

/**
 * Makes `server.close()` of a Vite server safe to call again (a test may close the server to
 * see what closing does, and its cleanup closes it whatever happened): later calls get the
 * first call's promise. Vite's preview server (Vite 5) throws on a second close. After
 * `server.restart()` the dev server has the new server's own close(), which a second call
 * leaves alone (Vite 5 to 8).
 */
export function closeOnce(server) {
  const close = server.close
  /** @type {Promise<void> | null} */
  let closing = null
  server.close = function closeOnce() {
    closing ??= close.apply(this)
    return closing
  }
  return server
}

/**
 * A Vite server a test created itself (`createServer` in middleware mode...): closed when
 * `owner` ends (see tempFolder). Call it right after creating the server.
 */
export function ownVite(owner, server) {
  closeOnce(server)
  cleanupOf(owner).add(() => server.close())
  return server
}

/**
 * `startVite` for a test: the server, and with it the sidecar, is closed when `owner` ends
 * (see tempFolder), before the project folder made earlier for the same owner is removed.
 */
export async function startViteFor(owner, root, options = {}) {
  const cleanup = cleanupOf(owner)
  const started = await startVite(root, options)
  cleanup.add(() => started.vite.close())
  return started
}

/**
 * Starts a dev server (or, with `mode: 'preview'`, a preview server) for `root` on
 * 127.0.0.1 and a free port, and waits for the sidecar's ready line. `config`: more of
 * Vite's top-level options (`base`, `appType`, `plugins`...), over these. The caller closes
 * the server: tests use `startViteFor`, which does; this is for a child process that is
 * killed whole (vite-child.js, ../reliability/vite_child.mjs).
 */
export async function startVite(root, { options = {}, server = {}, mode = 'dev', waitReady = true, config: extra = {} } = {}) {
  const logs = captureLogger()
  const port = await freePort()
  const config = {
    root,
    configFile: false,
    logLevel: 'info',
    customLogger: logs.logger,
    plugins: [wsside({ python: PYTHON, ...options })],
    server: { host: '127.0.0.1', port, ws: undefined, ...server },
    preview: { host: '127.0.0.1', port, ...server },
    ...extra,
  }
  let vite
  if (mode === 'preview') {
    mkdirSync(path.join(root, 'dist'), { recursive: true })
    vite = await preview(config)
  } else {
    vite = await createServer(config)
  }
  closeOnce(vite)
  try {
    if (mode !== 'preview') await vite.listen()
    const port = vite.httpServer.address().port
    const ready = waitReady ? await logs.waitFor(/sidecar ready: pid (\d+)/) : null
    return { vite, port, logs, pid: ready ? Number(ready[1]) : null }
  } catch (error) {
    // Not ready (or not listening): the caller gets no server to close, so close it here,
    // sidecar included, rather than leave them running past the failed test.
    await vite.close()
    throw error
  }
}

/**
 * A dev server for `root` (closed when `owner` ends, as `startViteFor`) whose vite.config.js,
 * written here, gives wsside's option `key` the value it reads from a JSON file: `edit(value)`
 * saves another, and `vite.restart()` then is a vite.config edit. Waits for the sidecar's
 * ready line; `pid` is that sidecar's.
 * @param {string} key
 * @param {unknown} value
 */
export async function startViteWithOptionFile(owner, root, key, value) {
  const optionFile = path.join(root, 'wsside-option.json')
  const edit = (/** @type {unknown} */ next) => writeFileSync(optionFile, JSON.stringify(next))
  edit(value)
  const started = await startViteWithConfigFile(owner, root, [
    "import { readFileSync } from 'node:fs'",
    `import wsside from ${JSON.stringify(path.join(REPO, 'node_shim/index.js'))}`,
    "const value = JSON.parse(readFileSync(new URL('./wsside-option.json', import.meta.url), 'utf8'))",
    `export default { plugins: [wsside({ python: ${JSON.stringify(PYTHON)}, ${JSON.stringify(key)}: value })] }`,
  ])
  return { ...started, edit }
}

/**
 * A dev server of `root` whose `vite.config.js` has the lines `source` (Vite reads it again
 * at each restart), once its sidecar is ready; closed when `owner` ends. In `source`,
 * `VITE_MODULE` is the Vite under test's module, to import from it (`loadEnv`; in a
 * `vite.config.mjs`, which Vite 5 loads as ESM rather than bundled into CommonJS).
 * @param {unknown} owner
 * @param {string} root
 * @param {string[]} source
 * @param {string} [name]
 */
export async function startViteWithConfigFile(owner, root, source, name = 'vite.config.js') {
  const module = JSON.stringify(fileURLToPath(import.meta.resolve(VITE_PACKAGES[major])))
  writeFileSync(path.join(root, name), source.join('\n').replaceAll('VITE_MODULE', module))
  const logs = captureLogger()
  const server = ownVite(owner, await createServer({
    root, configFile: path.join(root, name), logLevel: 'info', customLogger: logs.logger,
    server: { host: '127.0.0.1', port: await freePort() },
  }))
  await server.listen()
  const ready = await logs.waitFor(/sidecar ready: pid (\d+)/)
  return { vite: server, port: server.httpServer.address().port, logs, pid: Number(ready[1]) }
}

/**
 * A port free on 127.0.0.1 now. Vite 5 to 7 take `port: 0` for "unset" and listen on 5173
 * (or the next port free), where a demo or another run may be: the tests name one instead
 * (Vite moves to the next port should another process take it meanwhile).
 * @returns {Promise<number>}
 */
export async function freePort() {
  const probe = net.createServer()
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', () => resolve(undefined)))
  const address = probe.address()
  await new Promise((resolve) => probe.close(() => resolve(undefined)))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** True while `pid` runs (a zombie, exited but not yet reaped, counts as gone). */
export function isAlive(pid) {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true // no /proc (macOS): kill(pid, 0) is all we have
  }
}

/** Resolves with the time it took `pid` to exit (polled every 20 ms, bounded). */
export async function waitForExit(pid, ms = WAIT_MS) {
  const started = Date.now()
  return withTimeout(new Promise((resolve) => {
    const check = () => (isAlive(pid) ? setTimeout(check, 20) : resolve(Date.now() - started))
    check()
  }), ms, `pid ${pid} to exit`)
}

/**
 * Resolves once Vite's watcher reports what changes in `dir`. chokidar's `ready` can come
 * before it watches a new folder's files, and a file saved then goes unheard: a probe file is
 * saved again (every 50 ms, the wait being on its event) until the watcher reports it.
 * @param {{ watcher: import('node:events').EventEmitter }} server
 * @param {string} dir
 */
export async function watcherHears(server, dir, ms = WAIT_MS) {
  const probe = path.join(dir, 'wsside-probe.txt')
  let heard = false
  const onEvent = (/** @type {string} */ _event, /** @type {string} */ file) => {
    if (file === probe) heard = true
  }
  server.watcher.on('all', onEvent)
  try {
    const deadline = Date.now() + ms
    for (let i = 0; !heard; i++) {
      if (Date.now() > deadline) throw new Error(`Vite's watcher did not report ${probe} within ${ms} ms`)
      writeFileSync(probe, String(i))
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    server.watcher.off('all', onEvent)
    rmSync(probe, { force: true })
  }
}

/**
 * `command args` run in `cwd` for test `owner`, killed (SIGKILL) when it ends if still
 * running; `output` is what it printed so far, `closed` settles when it has ended.
 * @param {unknown} owner
 * @param {string} command
 * @param {string[]} args
 * @param {string} cwd
 */
export function ownProcess(owner, command, args, cwd) {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  const closed = new Promise((resolve) => child.once('close', resolve))
  cleanupOf(owner).add(async () => {
    child.kill('SIGKILL')
    await closed
  })
  const run = { child, closed, output: '' }
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => (run.output += chunk))
  return run
}

/**
 * A self-signed key and certificate for `localhost`, written into `dir`, as Vite's
 * `server.https` takes them.
 */
export function selfSignedCert(dir) {
  const key = path.join(dir, 'key.pem')
  const cert = path.join(dir, 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore', timeout: 20_000 })
  return { key: readFileSync(key), cert: readFileSync(cert) }
}
