// Hand-overs the sidecar does not take: a stand-in sidecar (helpers/standin-sidecar.py)
// that refuses each socket, or leaves one unanswered as a blocked sidecar would; then the
// real sidecar, blocked by a handler.

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { it } from 'node:test'
import { ACK_TIMEOUT_MS } from '../../node_shim/lib/handover.js'
import { ECHO, makeProject, startViteFor } from './helpers/project.js'
import { connectWs, upgrade, WAIT_MS } from './helpers/ws-client.js'

const STANDIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'standin-sidecar.py')

it('answers 503 at once when the sidecar cannot receive a socket, and the next one is not mixed up', async (t) => {
  // NODE_HANDLE_NACK is what a sidecar sends when no descriptor arrived. Node does not send
  // the socket again; the shim answers it.
  const root = makeProject(t)
  const { port, logs } = await startViteFor(t, root, { options: { python: STANDIN, env: { STANDIN_HANDLES: 'nack' } } })
  for (const attempt of [1, 2]) {
    const started = Date.now()
    const res = await upgrade({ port, path: '/api/echo' })
    assert.equal(res.statusLine, 'HTTP/1.1 503 Service Unavailable', `attempt ${attempt}`)
    assert.ok(Date.now() - started < 2_000, `attempt ${attempt} took ${Date.now() - started} ms`)
    await res.serverClosed()
  }
  // Both refusals are in the log: the first line, and the second counted (lib/repeats.js).
  await logs.waitFor(/could not receive the socket \(NODE_HANDLE_NACK.*\(and 1 more time in the last 5 s\)$/, { ms: 15_000 })
  assert.equal(logs.lines.filter((l) => /could not receive the socket \(NODE_HANDLE_NACK/.test(l)).length, 2)
})

it('answers 503 when a socket is not taken in time, pipes the sockets behind it, and hands over again after the late answer', async (t) => {
  const root = makeProject(t)
  const { port, logs } = await startViteFor(t, root, { options: { python: STANDIN, env: { STANDIN_HANDLES: 'hold-first' } } })
  const started = Date.now()
  const first = upgrade({ port, path: '/api/first' })
  await logs.waitFor(/stand-in: holding a socket/)
  // Sent while the first is in flight: it waits for that answer, then takes the other path.
  const second = upgrade({ port, path: '/api/second' })
  const unanswered = await first
  const waited = Date.now() - started
  assert.equal(unanswered.statusLine, 'HTTP/1.1 503 Service Unavailable')
  assert.equal(unanswered.headers.connection, 'close')
  assert.ok(waited >= ACK_TIMEOUT_MS && waited < ACK_TIMEOUT_MS + 1_500, `waited ${waited} ms`)
  await unanswered.serverClosed()
  await logs.waitFor(/refused \/api\/first: the Python sidecar did not take the socket within 2 s/)
  await logs.waitFor(/has not taken a socket within 2 s: is its event loop blocked/)
  const piped = await second
  assert.equal(piped.headers['x-standin'], 'piped')
  await logs.waitFor(/\/api\/second: pipe \(the sidecar has not answered an earlier hand-over\)/)
  // The piped connection made the stand-in send the first socket's late ACK: it settles
  // nothing else, and the next socket is handed over and answered by its own ACK.
  await logs.waitFor(/answered a hand-over after \d+\.\d s; handing sockets over again/)
  const third = await upgrade({ port, path: '/api/third' })
  assert.equal(third.headers['x-standin'], 'handed-over')
  await third.serverClosed()
})

// Blocks the sidecar's event loop (as a handler that forgot `await` does) until the project
// holds a file named "release".
const BLOCKING = `
import pathlib
import time

from wsside import Handler

block = Handler("/block")
release = pathlib.Path(__file__).resolve().parent.parent / "release"

@block.on_message
def message(conn, data):
    while not release.exists():
        time.sleep(0.02)
    conn.send("released")
`

it('a sidecar blocked by a handler: 503 after the wait, later sockets piped, all served once it runs again', async (t) => {
  const root = makeProject(t, { 'echo.py': ECHO, 'block.py': BLOCKING })
  const { port, logs } = await startViteFor(t, root)
  const blocker = await connectWs({ port, path: '/api/block' })
  blocker.send('block')
  await logs.waitFor(/the event loop is blocked/)
  // A plain GET of an endpoint's URL does not wait for it either: Vite answers it.
  const page = await fetch(`http://127.0.0.1:${port}/api/echo`, {
    headers: { Accept: 'text/html' }, signal: AbortSignal.timeout(WAIT_MS),
  })
  assert.equal(page.status, 200)
  assert.match(await page.text(), /<title>wsside<\/title>/)
  const unanswered = await upgrade({ port, path: '/api/echo' })
  assert.equal(unanswered.statusLine, 'HTTP/1.1 503 Service Unavailable')
  const piped = connectWs({ port, path: '/api/echo' })
  await logs.waitFor(/\/api\/echo: pipe \(the sidecar has not answered an earlier hand-over\)/)
  writeFileSync(path.join(root, 'release'), '')
  assert.equal(await blocker.next(), 'released')
  // Once the loop runs again, the stall is a warning naming the blocking line, with the
  // advice for what its sample caught (time.sleep, or now and then the file check), in a
  // plain def: make it async first.
  await logs.waitFor(/the event loop was blocked for [\d.]+ s in message \(\S*block\.py:\d+\): (time\.sleep\(\) blocks the loop: make message async def, then await asyncio\.sleep\(seconds\)|make message async def, then await an async version of what blocks, or run it .*)$/)
  const ws = await piped
  ws.send('piped')
  assert.equal(await ws.next(), 'piped')
  // The sidecar got the first socket late: its answer failed on a connection the shim had
  // ended, and its ACK went to that socket, not to a later one.
  await logs.waitFor(/answered a hand-over after/)
  const from = logs.lines.length
  const handed = await connectWs({ port, path: '/api/echo' })
  handed.send('handed over')
  assert.equal(await handed.next(), 'handed over')
  await logs.waitFor(/\/api\/echo: hand-over \(socket passed to pid \d+\)/, { from })
  for (const each of [blocker, ws, handed]) each.close()
})
