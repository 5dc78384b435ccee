// A real Vite dev server on plain HTTP with the shim and a real sidecar: hand-over path,
// routing, security, HMR and proxy left alone, overlay errors, restart and close.

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { before, describe, it } from 'node:test'
import wsside from 'vite-plugin-wsside'
import { cleanupOf, suiteCleanup } from './helpers/cleanup.js'
import { captureLogger, ECHO, isAlive, makeProject, ownVite, PYTHON, startViteFor, vite as viteUnderTest, waitForExit } from './helpers/project.js'
import { connectWs, upgrade } from './helpers/ws-client.js'

const ROOMS = 'from wsside import Handler\n\nrooms = Handler("/rooms/{id}")\n'
const BROKEN = 'from wsside import Handler\n\nbroken = Handler("/broken")\n\nraise RuntimeError("boom at import")\n'

// A stand-in for a back end reached through Vite's `server.proxy`: it accepts any upgrade
// and marks its response so the test can tell who answered. Closed when `owner` ends.
function proxyTarget(owner) {
  const server = http.createServer((req, res) => res.end(`proxied ${req.url}`))
  cleanupOf(owner).add(() => server.close())
  server.on('upgrade', (req, socket) => {
    const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64')
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Target: proxied\r\n\r\n`)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

describe('dev server, plain HTTP', () => {
  const cleanup = suiteCleanup()
  let root, vite, port, logs, pid, target

  before(async () => {
    target = await proxyTarget(cleanup)
    root = makeProject(cleanup, { 'echo.py': ECHO, 'rooms.py': ROOMS, 'z_broken.py': BROKEN })
    const to = `http://127.0.0.1:${target.address().port}`
    ;({ vite, port, logs, pid } = await startViteFor(cleanup, root, {
      server: {
        proxy: {
          ...Object.fromEntries(['/other', '/apix'].map((p) => [p, { target: to, ws: true }])),
          '/api/rest': { target: to }, // a REST back end under the same prefix
          '/api/legacy': { target: to, ws: true }, // an older WebSocket back end under it
        },
      },
    }))
  })

  it('prints the handlers with their URLs when the sidecar is ready', async () => {
    await logs.waitFor(new RegExp(`ws://127\\.0\\.0\\.1:${port}/api/echo  \\(ws/echo\\.py:4\\)`))
  })

  it('echoes through a handed-over socket', async () => {
    const from = logs.lines.length
    const ws = await connectWs({ port, path: '/api/echo?x=1' })
    ws.send('{"hello":"world"}')
    assert.deepEqual(await ws.next({ json: true }), { hello: 'world' })
    ws.send('plain text')
    assert.equal(await ws.next(), 'plain text')
    await logs.waitFor(/\/api\/echo: hand-over \(socket passed to pid \d+\)/, { from })
    ws.close()
    assert.equal((await ws.closed).code, 1000)
  })

  it('lets the sidecar answer 404 under the prefix, with Content-Length and Connection: close', async () => {
    const res = await upgrade({ port, path: '/api/nothing-here' })
    assert.equal(res.statusLine, 'HTTP/1.1 404 Not Found')
    assert.equal(res.headers.connection, 'close')
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body))
  })

  it('the sidecar closes the connection after a refusal', async () => {
    const res = await upgrade({ port, path: '/api/nothing-here' })
    await res.serverClosed()
  })

  it('refuses a foreign Origin with 403 and logs why', async () => {
    const from = logs.lines.length
    const res = await upgrade({ port, path: '/api/echo', headers: { Origin: 'http://evil.example' } })
    assert.equal(res.statusLine, 'HTTP/1.1 403 Forbidden')
    assert.equal(res.headers.connection, 'close')
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body))
    await res.serverClosed()
    await logs.waitFor(/refused \/api\/echo: Origin "http:\/\/evil\.example" is not this dev server/, { from })
  })

  it('accepts the dev server\'s own Origin', async () => {
    const ws = await connectWs({ port, path: '/api/echo', headers: { Origin: `http://127.0.0.1:${port}` } })
    ws.send('same origin')
    assert.equal(await ws.next(), 'same origin')
    ws.close()
  })

  it('refuses a Host outside server.allowedHosts with 403', async () => {
    const from = logs.lines.length
    const res = await upgrade({ port, path: '/api/echo', headers: { Host: `rebind.example:${port}` } })
    assert.equal(res.statusLine, 'HTTP/1.1 403 Forbidden')
    await logs.waitFor(/refused \/api\/echo: Host "rebind\.example:\d+" is not allowed/, { from })
  })

  it('leaves Vite\'s HMR socket alone, and the overlay gets the load error with its Python location', async () => {
    const ws = await connectWs({ port, path: '/', headers: { 'Sec-WebSocket-Protocol': 'vite-hmr' } })
    assert.equal(ws.response.headers['sec-websocket-protocol'], 'vite-hmr')
    assert.equal((await ws.next({ json: true })).type, 'connected')
    // An error that stands reaches a page that connects after it was reported.
    const payload = await ws.next({ json: true })
    assert.equal(payload.type, 'error')
    assert.equal(payload.err.plugin, 'wsside')
    assert.match(payload.err.message, /RuntimeError: boom at import/)
    assert.match(payload.err.loc.file, /ws\/z_broken\.py$/)
    assert.equal(payload.err.loc.line, 5)
    assert.match(payload.err.stack, /Traceback/)
    ws.socket.destroy()
    await logs.waitFor(/cannot load ws\/z_broken\.py:5: RuntimeError: boom at import/)
  })

  it('leaves server.proxy upgrades outside the prefix alone', async () => {
    const res = await upgrade({ port, path: '/other/socket' })
    assert.equal(res.status, 101)
    assert.equal(res.headers['x-target'], 'proxied')
    res.socket.destroy()
  })

  it('leaves upgrades that a ws: true proxy rule matches under the prefix to it, and says so once', async () => {
    const from = logs.lines.length
    for (const path of ['/api/legacy/socket', '/api/legacy/other']) {
      // Vite's proxy answers it; were wsside to take it too, the sidecar's 404 would come first.
      const res = await upgrade({ port, path })
      assert.equal(res.status, 101)
      assert.equal(res.headers['x-target'], 'proxied')
      res.socket.destroy()
    }
    const said = logs.lines.slice(from).filter((l) => /server\.proxy\['\/api\/legacy'\] \(ws: true\)/.test(l))
    assert.equal(said.length, 1, logs.lines.slice(from).join('\n'))
    assert.match(said[0], /\/api\/legacy\/socket: left to server\.proxy\['\/api\/legacy'\] \(ws: true\)/)
    assert.ok(!logs.lines.slice(from).some((l) => /hand-over|pipe/.test(l)), logs.lines.slice(from).join('\n'))
    const ws = await connectWs({ port, path: '/api/echo' }) // the rest of the prefix is wsside's
    ws.send('still ours')
    assert.equal(await ws.next(), 'still ours')
    ws.close()
  })

  it('does not take /apix (the prefix ends on a segment boundary)', async () => {
    const res = await upgrade({ port, path: '/apix/socket' })
    assert.equal(res.headers['x-target'], 'proxied')
    res.socket.destroy()
  })

  it('answers a plain GET of an endpoint\'s URL with 426, not the app\'s page', async () => {
    for (const url of ['/api/echo', '/api/rooms/7?x=1']) {
      const res = await fetch(`http://127.0.0.1:${port}${url}`, { headers: { Accept: 'text/html' } })
      assert.equal(res.status, 426, url)
      assert.equal(res.headers.get('upgrade'), 'websocket')
      assert.equal(res.headers.get('sec-websocket-version'), '13, 8, 7')
      assert.match(await res.text(), /only speaks WebSocket/)
    }
  })

  it('leaves other plain requests under the prefix to Vite and its proxy', async () => {
    const proxied = await fetch(`http://127.0.0.1:${port}/api/rest/users`)
    assert.equal(await proxied.text(), 'proxied /api/rest/users')
    for (const [method, url] of [['GET', '/api/nothing-here'], ['POST', '/api/echo']]) {
      const res = await fetch(`http://127.0.0.1:${port}${url}`, { method, headers: { Accept: 'text/html' } })
      await res.arrayBuffer()
      assert.notEqual(res.status, 426, `${method} ${url}`)
    }
  })

  it('prints the endpoints as they are after a reload with Vite\'s URLs', async () => {
    const file = path.join(root, 'ws', 'added.py')
    const printed = () => {
      const from = logs.lines.length
      vite.printUrls() // what Vite's `u` shortcut does
      return logs.lines.slice(from).filter((line) => line.includes('WebSocket:'))
    }
    const echo = `ws://127.0.0.1:${port}/api/echo  (ws/echo.py:4)`
    const added = `ws://127.0.0.1:${port}/api/added  (ws/added.py:3)`
    let from = logs.lines.length
    writeFileSync(file, 'from wsside import Handler\n\nadded = Handler("/added")\n')
    // With the time from the save to the new code serving.
    await logs.waitFor(/added ws\/added\.py \(\/added\) in \d+ ms$/, { from })
    const withAdded = printed()
    assert.ok(withAdded.some((line) => line.includes(echo)) && withAdded.some((line) => line.includes(added)),
      withAdded.join('\n'))
    from = logs.lines.length
    rmSync(file)
    await logs.waitFor(/removed ws\/added\.py/, { from })
    const withoutIt = printed()
    assert.ok(withoutIt.some((line) => line.includes(echo)), withoutIt.join('\n'))
    assert.ok(!withoutIt.some((line) => line.includes('/api/added')), withoutIt.join('\n'))
  })

  it('keeps exactly one sidecar across server.restart(), and keeps its connections', async () => {
    const ws = await connectWs({ port, path: '/api/echo' })
    const from = logs.lines.length
    await vite.restart()
    const newPort = vite.httpServer.address().port
    const again = await connectWs({ port: newPort, path: '/api/echo' })
    again.send('after restart')
    assert.equal(await again.next(), 'after restart')
    ws.send('still open')
    assert.equal(await ws.next(), 'still open')
    assert.equal(logs.lines.slice(from).filter((l) => /sidecar ready/.test(l)).length, 0)
    assert.ok(isAlive(pid))
    port = newPort
    again.close()
    ws.close()
  })

  it('server.close() closes clients with 1001 and stops the sidecar', async () => {
    const ws = await connectWs({ port, path: '/api/echo' })
    ws.send('ping')
    assert.equal(await ws.next(), 'ping')
    await vite.close()
    assert.deepEqual(await ws.closed, { code: 1001, reason: 'Going Away' })
    await waitForExit(pid)
  })
})

it("Vite's watcher leaves the project's virtual environment and Python's bytecode alone", async (t) => {
  const root = makeProject(t)
  for (const dir of ['.venv/lib/python3/site-packages/pkg', 'ws/__pycache__', 'src']) mkdirSync(path.join(root, dir), { recursive: true })
  writeFileSync(path.join(root, '.venv', 'pyvenv.cfg'), 'home = /usr/bin\n')
  writeFileSync(path.join(root, '.venv/lib/python3/site-packages/pkg/mod.py'), '')
  writeFileSync(path.join(root, 'ws/__pycache__/echo.cpython-311.pyc'), '')
  writeFileSync(path.join(root, 'src/main.ts'), '')
  const { vite } = await startViteFor(t, root, { server: { watch: { ignored: ['**/src/ignored-by-user/**'] } } })
  // chokidar has read the root and its folders once it is ready (`_readyEmitted`, the
  // flag of the chokidar bundled in Vite 5 to 8: the event may have fired already).
  if (!vite.watcher._readyEmitted) await new Promise((resolve) => vite.watcher.once('ready', resolve))
  const watched = Object.keys(vite.watcher.getWatched())
  assert.ok(watched.includes(path.join(root, 'src')), watched.join('\n'))
  assert.ok(watched.includes(path.join(root, 'ws')), watched.join('\n'))
  const python = watched.filter((dir) => dir.includes('.venv') || dir.includes('__pycache__'))
  assert.deepEqual(python, [])
})

it('a user who turned watching off (watch: null) keeps it off', async (t) => {
  const { vite } = await startViteFor(t, makeProject(t), { server: { watch: null } })
  assert.equal(vite.config.server.watch, null)
})

it("with Vite's base (`/app/`), the printed URLs are the endpoints', which are not under base", async (t) => {
  const { vite, port, logs } = await startViteFor(t, makeProject(t), { config: { base: '/app/' } })
  const from = logs.lines.length
  vite.printUrls()
  const printed = logs.lines.slice(from).find((line) => line.includes('WebSocket:'))
  assert.match(printed ?? '', new RegExp(`WebSocket: ws://127\\.0\\.0\\.1:${port}/api/echo  \\(ws/echo\\.py:4\\)`))
  assert.ok(logs.lines.some((line) => line.includes(`  ws://127.0.0.1:${port}/api/echo  (ws/echo.py:4)`)), logs.lines.join('\n'))
  // What is printed is what answers: the prefix is from the host's root, as the client asks.
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('under base')
  assert.equal(await ws.next(), 'under base')
  ws.close()
})

/**
 * `ask(url)` sends an upgrade request for `url` that no one will answer, and resolves once it
 * is written; the sockets are destroyed when the test ends.
 * @param {import('node:test').TestContext} t
 * @param {number} port
 */
function unansweredUpgrades(t, port) {
  /** @type {net.Socket[]} */
  const sockets = []
  cleanupOf(t).add(() => {
    for (const socket of sockets) socket.destroy()
  })
  return (/** @type {string} */ url) => new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${url} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', resolve)
    })
    sockets.push(socket)
  })
}

it("with Vite's base (`/app/`), an upgrade under base + prefix, which nothing answers, is told once where the endpoint is", async (t) => {
  const { port, logs } = await startViteFor(t, makeProject(t), { config: { base: '/app/' } })
  // What a page asks that builds its URL from import.meta.env.BASE_URL; no answer comes.
  const ask = unansweredUpgrades(t, port)
  const told = (/** @type {string} */ line) => line.includes('no WebSocket endpoint there')
  await ask('/app/api/echo?username=Ada')
  const [line] = await logs.waitFor(/\/app\/api\/echo: no WebSocket endpoint there.*/)
  assert.equal(line, "/app/api/echo: no WebSocket endpoint there, and the client gets no answer: Vite's base (/app/) " +
    'does not move wsside\'s prefix, so this endpoint is at /api/echo. Connect to /api/echo (vite-plugin-wsside/client ' +
    "does), or set prefix: '/app/api' in wsside() to serve it under base.")
  // Once: a second such upgrade, then one to the endpoint itself, which answers.
  await ask('/app/api/echo')
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('at the root')
  assert.equal(await ws.next(), 'at the root')
  ws.close()
  assert.equal(logs.lines.filter(told).length, 1, logs.lines.join('\n'))
})

it('an upgrade outside the prefix to an endpoint\'s own path is told once where the endpoint is', async (t) => {
  const { port, logs } = await startViteFor(t, makeProject(t))
  const ask = unansweredUpgrades(t, port)
  const told = (/** @type {string} */ line) => line.includes("outside wsside's prefix")
  // The prefix left out (`/echo`), and a prefix the page has but the plugin does not (`/rt`).
  for (const [url, pathname] of [['/echo?username=Ada', '/echo'], ['/rt/echo', '/rt/echo']]) {
    await ask(url)
    const [line] = await logs.waitFor(new RegExp(`${pathname}: outside wsside's prefix.*`))
    assert.equal(line, `${pathname}: outside wsside's prefix (/api), so wsside leaves it to Vite's other listeners; ` +
      'when none of them serves it, the handshake waits unanswered, or gets 404 where nothing else listens for upgrades ' +
      '(the browser client retries). Did you mean /api/echo?')
  }
  // Once per path; an unrelated path outside the prefix is left alone, unnamed.
  await ask('/echo')
  await ask('/somewhere/else')
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('at the prefix')
  assert.equal(await ws.next(), 'at the prefix')
  ws.close()
  assert.equal(logs.lines.filter(told).length, 2, logs.lines.join('\n'))
})

it('an endpoint of non-ASCII text is reached at the path a browser sends for it, percent-encoded', async (t) => {
  const cafe = 'from wsside import Handler\n\ncafe = Handler("/café/{mesa}")\nmenu = Handler("/cardápio")\n\n' +
    '@cafe.on_connect\ndef hello(conn, request):\n    conn.send(conn.params["mesa"])\n'
  const { port, logs } = await startViteFor(t, makeProject(t, { 'café.py': cafe }))
  // new WebSocket('ws://…/api/café/🍕') sends this path.
  const ws = await connectWs({ port, path: '/api/caf%C3%A9/%F0%9F%8D%95' })
  assert.equal(await ws.next(), '🍕')
  ws.close()
  // The prefix left out: named with the endpoint meant, as for an ASCII one.
  await unansweredUpgrades(t, port)('/card%C3%A1pio')
  const [line] = await logs.waitFor(/\/card%C3%A1pio: outside wsside's prefix.*/)
  assert.ok(line.endsWith('Did you mean /api/cardápio?'), line)
})

it('an upgrade under the prefix that no endpoint serves is named once, with the endpoint it likely meant', async (t) => {
  const { port, logs } = await startViteFor(t, makeProject(t))
  const told = (/** @type {string} */ line) => line.includes('no endpoint there')
  for (let i = 0; i < 2; i++) {
    const res = await upgrade({ port, path: '/api/api/echo?username=Ada' })
    res.socket.destroy()
    assert.equal(res.status, 404)
  }
  const [line] = await logs.waitFor(/\/api\/api\/echo: no endpoint there.*/)
  assert.equal(line, '/api/api/echo: no endpoint there, so the client got 404: did you mean /api/echo?')
  // A plain request under the prefix (a REST mock's, say) is not a WebSocket's typo.
  const plain = await fetch(`http://127.0.0.1:${port}/api/users`)
  await plain.arrayBuffer()
  const far = await upgrade({ port, path: '/api/zzzzzzzzzzzz' })
  far.socket.destroy()
  assert.equal(far.status, 404)
  await logs.waitFor(/\/api\/zzzzzzzzzzzz: no endpoint there, so the client got 404: the endpoints are \/api\/echo$/)
  assert.equal(logs.lines.filter(told).length, 2, logs.lines.join('\n'))
})

it('the 404 note says which part a pattern refused, and names a handler file that never loaded', async (t) => {
  const rooms = "from wsside import Handler\nrooms = Handler(r'/ws/rooms/{room:[\\w-]+}')\n"
  const { port, logs } = await startViteFor(t, makeProject(t, { 'rooms.py': rooms, 'broken.py': 'def (:\n' }))
  await logs.waitFor(/cannot load ws\/broken\.py/)
  const res = await upgrade({ port, path: '/api/ws/rooms/a.b' })
  res.socket.destroy()
  assert.equal(res.status, 404)
  const [line] = await logs.waitFor(/\/api\/ws\/rooms\/a\.b: no endpoint there.*/)
  assert.equal(line, '/api/ws/rooms/a.b: no endpoint there, so the client got 404: did you mean ' +
    '/api/ws/rooms/{room:[\\w-]+}? (`a.b` does not match `{room:[\\w-]+}`) (ws/broken.py did not load, ' +
    'so what it declares was never served: see its error above)')
})

it('the 404 note of a path is written again when the files changed what it says', async (t) => {
  const root = makeProject(t, { 'chat.py': 'def (:\n' })
  const { port, logs } = await startViteFor(t, root)
  await logs.waitFor(/cannot load ws\/chat\.py/)
  const ask = async () => {
    const res = await upgrade({ port, path: '/api/ws/chat' })
    res.socket.destroy()
    assert.equal(res.status, 404)
  }
  await ask()
  await logs.waitFor(/\/api\/ws\/chat: no endpoint there.*ws\/chat\.py did not load/)
  const from = logs.lines.length
  writeFileSync(path.join(root, 'ws', 'chat.py'), 'from wsside import Handler\nchat = Handler("/ws/chats")\n')
  await logs.waitFor(/ws\/chat\.py \(\/ws\/chats\)/, { from })
  await ask()
  const [line] = await logs.waitFor(/\/api\/ws\/chat: no endpoint there.*/, { from })
  assert.equal(line, '/api/ws/chat: no endpoint there, so the client got 404: did you mean /api/ws/chats?')
  await ask() // the same note again is not written twice
  const next = await upgrade({ port, path: '/api/ws/chats' }) // a later line to wait for
  next.socket.destroy()
  assert.equal(next.status, 101)
  assert.equal(logs.lines.slice(from).filter((l) => l.includes('no endpoint there')).length, 1, logs.lines.join('\n'))
})

it("with Vite's base (`/app/`), a plain GET of an endpoint's URL gets the 426, not Vite's 404 for URLs outside base", async (t) => {
  const target = await proxyTarget(t)
  const { port } = await startViteFor(t, makeProject(t), {
    config: { base: '/app/' },
    server: { proxy: { '/api/rest': { target: `http://127.0.0.1:${target.address().port}` } } },
  })
  const get = (url) => fetch(`http://127.0.0.1:${port}${url}`, { headers: { Accept: 'text/html' }, redirect: 'manual' })
  const res = await get('/api/echo?x=1')
  assert.equal(res.status, 426)
  assert.equal(res.headers.get('upgrade'), 'websocket')
  assert.match(await res.text(), /only speaks WebSocket/)
  // Everything else outside base is Vite's as before: the proxy, its 404, its redirect.
  assert.equal(await (await get('/api/rest/users')).text(), 'proxied /api/rest/users')
  const missing = await get('/api/nothing-here')
  assert.equal(missing.status, 404)
  assert.match(await missing.text(), /public base URL of \/app\//)
  const home = await get('/')
  assert.equal(home.status, 302)
  assert.equal(home.headers.get('location'), '/app/')
  // Under base the prefix means nothing (the endpoints are not there): the app's page.
  const page = await get('/app/api/echo')
  assert.equal(page.status, 200)
  assert.match(await page.text(), /<title>wsside<\/title>/)
})

// The wsside sidecars this process has spawned and not reaped, from /proc (Linux).
function sidecarChildren() {
  return readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1])
      return ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('wsside')
    } catch {
      return false // exited while we looked
    }
  })
}

describe('a Vite that never listens starts no sidecar', () => {
  const cleanup = suiteCleanup()
  let root, logs

  before(() => {
    root = makeProject(cleanup)
  })

  const config = (server, plugins = []) => {
    logs = captureLogger()
    return {
      root,
      configFile: false,
      customLogger: logs.logger,
      plugins: [wsside({ python: PYTHON }), ...plugins],
      // No watcher: Vite 5 to 7 do not close a server whose configureServer failed, and
      // theirs would keep this test's process alive.
      server: { host: '127.0.0.1', watch: null, ...server },
    }
  }
  // The shim's debug line (DEBUG=wsside, helpers/project.js) for each process it spawns.
  const spawned = () => logs.lines.filter((line) => line.includes('[wsside] starting '))

  it('when its port is taken (strictPort): nothing runs the handlers for a server that is not there', {
    skip: !existsSync('/proc/self/stat') && 'reads /proc',
  }, async (t) => {
    const taken = net.createServer()
    cleanupOf(t).add(() => taken.close())
    await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const server = ownVite(t, await viteUnderTest.createServer(config({ port: taken.address().port, strictPort: true })))
    await assert.rejects(server.listen(), /already in use/)
    assert.deepEqual(sidecarChildren(), [])
    assert.deepEqual(spawned(), [])
  })

  it("when a later plugin refuses it in configureServer, as Vite 8's lock does for a second `vite` of a project", async () => {
    const lock = {
      name: 'stand-in for vite:command-lock',
      configureServer() {
        throw new Error('Found another Vite dev process for this project')
      },
    }
    await assert.rejects(viteUnderTest.createServer(config({ port: 0 }, [lock])), /Found another Vite/)
    assert.deepEqual(spawned(), [])
  })
})
