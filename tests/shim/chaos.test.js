// Faults on the dev path, with a real Vite and a real sidecar: the sidecar stopped (SIGSTOP,
// as a debugger or a blocked event loop would hold it) while upgrades pile up.

import assert from 'node:assert/strict'
import { it } from 'node:test'
import { cleanupOf } from './helpers/cleanup.js'
import { makeProject, startViteFor } from './helpers/project.js'
import { connectWs, upgrade } from './helpers/ws-client.js'

/** Resolves once `logs` holds at least `n` lines matching `re` (no polling: each wait is for a new line). */
async function linesMatching(logs, re, n) {
  for (;;) {
    if (logs.lines.filter((line) => re.test(line)).length >= n) return
    await logs.waitFor(re, { from: logs.lines.length })
  }
}

it('a stopped sidecar: upgrades beyond its Unix socket queue wait for it, and all are served once it runs again', async (t) => {
  const { port, logs, pid } = await startViteFor(t, makeProject(t))
  // Runs before the server closes: a stopped sidecar would not hear it.
  cleanupOf(t).add(() => {
    try {
      process.kill(pid, 'SIGCONT')
    } catch {}
  })
  process.kill(pid, 'SIGSTOP')
  // The socket in flight is given up on (503, handover.test.js), and later ones are piped to
  // the sidecar's Unix socket, whose listen queue (128) fills while nobody accepts.
  const inFlight = await upgrade({ port, path: '/api/echo' })
  assert.equal(inFlight.status, 503)
  const from = logs.lines.length
  const count = 200
  const clients = Array.from({ length: count }, () => connectWs({ port, path: '/api/echo', ms: 20_000 }))
  await linesMatching(logs, /\/api\/echo: pipe \(the sidecar has not answered an earlier hand-over\)/, count)
  await logs.waitFor(/cannot reach the sidecar for \/api\/echo: EAGAIN/, { from })
  process.kill(pid, 'SIGCONT')
  const served = await Promise.allSettled(clients)
  const refused = served.filter((r) => r.status === 'rejected')
  assert.deepEqual(refused.map((r) => String(r.reason).slice(0, 120)), [], `${refused.length} of ${count} not served`)
  for (const [i, { value: ws }] of /** @type {PromiseFulfilledResult<any>[]} */ (served).entries()) {
    ws.send(`client ${i}`)
    assert.equal(await ws.next(), `client ${i}`)
    ws.close()
  }
  assert.equal(logs.lines.filter((l) => /refused \/api\/echo/.test(l)).length, 1, logs.lines.filter((l) => /refused/.test(l)).join('\n'))
})
