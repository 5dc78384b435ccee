// A sidecar killed right after it answered a handed-over upgrade: the client's connection
// ends with the sidecar, and no other sidecar answers it again.

import assert from 'node:assert/strict'
import { it } from 'node:test'
import { makeProject, startViteFor } from './helpers/project.js'
import { upgrade, withTimeout, WAIT_MS } from './helpers/ws-client.js'

// A sidecar killed a 5th time within 30 s is not restarted (lib/exits.js): each Vite sees 4
// kills, and the Vites run side by side (which keeps the machine busy, as the race needs).
const KILLS_PER_VITE = 4
const VITES = 8

/** What the client gets after its 101: resolves with the bytes once the connection closes. */
function afterAnswer(res) {
  let bytes = res.rest
  return withTimeout(new Promise((resolve) => {
    res.socket.on('data', (chunk) => {
      bytes = Buffer.concat([bytes, chunk])
      // A second answer: the connection stays open after it, so say so without waiting.
      if (bytes.includes('HTTP/1.1')) resolve(bytes)
    })
    res.socket.on('error', () => {})
    res.socket.once('close', () => resolve(bytes))
  }), WAIT_MS, 'the connection to end after its sidecar was killed')
}

/** `KILLS_PER_VITE` times: an upgrade, and its sidecar killed once the 101 is read. */
async function killAfterAnswers(t, vite, twice) {
  const { port, logs } = await startViteFor(t, makeProject(t))
  let { pid } = await startedPid(logs)
  for (let kill = 1; kill <= KILLS_PER_VITE; kill++) {
    const res = await upgrade({ port, path: '/api/echo' })
    assert.equal(res.status, 101, res.statusLine)
    const from = logs.lines.length
    process.kill(pid, 'SIGKILL')
    const rest = await afterAnswer(res)
    res.socket.destroy()
    if (rest.length) twice.push(`Vite ${vite}, kill ${kill}: ${rest.toString('latin1').split('\r\n')[0]}`)
    ;({ pid } = await startedPid(logs, from))
  }
}

/** The pid of the sidecar ready after log line `from`. */
async function startedPid(logs, from = 0) {
  const ready = await logs.waitFor(/sidecar ready: pid (\d+)/, { from, ms: 20_000 })
  return { pid: Number(ready[1]) }
}

it('a sidecar killed right after its 101: each connection ends, and none is answered again', { timeout: 120_000 }, async (t) => {
  /** @type {string[]} */
  const twice = []
  await Promise.all(Array.from({ length: VITES }, (_, vite) => killAfterAnswers(t, vite, twice)))
  assert.deepEqual(twice, [], `${twice.length} of ${VITES * KILLS_PER_VITE} connections answered again after their sidecar was killed`)
})
