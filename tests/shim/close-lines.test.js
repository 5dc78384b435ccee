// A connection the sidecar closes at one of its limits, under a real Vite and sidecar: Vite's
// terminal (which shows no access lines at the default log level) gets one warning line that
// names the endpoint, the handler's file and line, and what to do. A burst sent in one go
// (the walkthrough's history on connect, 40 MiB) closes 1013 "Client too slow"; a message
// over max_message_size closes 1009. (tests/test_close_lines.py: `wsside serve` and uvicorn.)

import assert from 'node:assert/strict'
import { it } from 'node:test'
import { makeProject, startViteFor } from './helpers/project.js'
import { connectWs, withTimeout } from './helpers/ws-client.js'

const HISTORY = `
from wsside import Handler

history = Handler("/ws/history")
CHUNKS = [bytes([i]) * (1 << 20) for i in range(40)]

@history.on_connect
def backfill(conn, request):
    for chunk in CHUNKS:
        conn.send(chunk)
`

const BIG = `
from wsside import Handler

big = Handler("/ws/big", max_message_size=1024)
`

const SLOW = /^\[wsside\] closed \/api\/ws\/history 1013 "Client too slow" \(ws\/history\.py:4\): more than 16 MiB waited to be sent to the client 127\.0\.0\.1:\d+, .*await conn\.send\(\.\.\.\) for each part paces it/
const TOO_BIG = /^\[wsside\] closed \/api\/ws\/big 1009 \(ws\/big\.py:4\): the client sent a message over max_message_size \(1 KiB\): raise it in Handler\(\.\.\., max_message_size=\.\.\.\)/

it('a 1013 or 1009 close of the sidecar is a warning line in Vite\'s terminal', { timeout: 60_000 }, async (t) => {
  const root = makeProject(t, { 'history.py': HISTORY, 'big.py': BIG })
  const { port, logs } = await startViteFor(t, root)

  const history = await connectWs({ port, path: '/api/ws/history' })
  const slow = await withTimeout(history.closed, 20_000, 'the close of /api/ws/history')
  assert.deepEqual(slow, { code: 1013, reason: 'Client too slow' })
  const { input: line } = await logs.waitFor(SLOW, { ms: 10_000 })
  assert.equal(logs.levels[logs.lines.indexOf(line)], 'warn', line)

  const big = await connectWs({ port, path: '/api/ws/big' })
  big.send('x'.repeat(2000))
  const closed = await withTimeout(big.closed, 10_000, 'the close of /api/ws/big')
  assert.equal(closed.code, 1009)
  const { input: bigLine } = await logs.waitFor(TOO_BIG, { ms: 10_000 })
  assert.equal(logs.levels[logs.lines.indexOf(bigLine)], 'warn', bigLine)
})
