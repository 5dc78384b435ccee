// A burst of upgrades refused for the same reason, against a real Vite and sidecar: Vite's
// terminal gets the first refusal at once and one line that counts the others
// (lib/repeats.js), not a line per connection.

import assert from 'node:assert/strict'
import { it } from 'node:test'
import { makeProject, startViteFor } from './helpers/project.js'
import { upgrade } from './helpers/ws-client.js'

const FOREIGN = /refused \/api\/echo: Origin "http:\/\/evil\.example" is not this dev server/

/** Sends an upgrade from a foreign origin and resolves once its 403 has arrived. */
async function refusedUpgrade(port) {
  const res = await upgrade({ port, path: '/api/echo', headers: { Origin: 'http://evil.example' } })
  assert.equal(res.status, 403)
  res.socket.destroy()
}

it('a burst of identical refusals: the first line at once, then one line with the count', { timeout: 30_000 }, async (t) => {
  const root = makeProject(t)
  const { port, logs } = await startViteFor(t, root)
  const count = 60
  await refusedUpgrade(port)
  const matching = () => logs.lines.filter((line) => FOREIGN.test(line))
  assert.equal(matching().length, 1, 'the first refusal is written when it is answered')
  await Promise.all(Array.from({ length: count - 1 }, () => refusedUpgrade(port)))
  assert.equal(matching().length, 1, matching().join('\n'))
  // Another reason is another line, written at once.
  const res = await upgrade({ port, path: '/api/echo', headers: { Host: `rebind.example:${port}` } })
  assert.equal(res.status, 403)
  assert.equal(logs.lines.filter((line) => /refused \/api\/echo: Host "rebind\.example:\d+" is not allowed/.test(line)).length, 1)
  const [summary] = await logs.waitFor(/refused \/api\/echo: Origin .*\(and \d+ more times? in the last 5 s\)$/, { ms: 15_000 })
  assert.match(summary, new RegExp(`${FOREIGN.source}.*\\(and ${count - 1} more times in the last 5 s\\)$`))
  assert.equal(matching().length, 2, matching().join('\n'))
})

it('refusals counted and not yet written are written when Vite closes', { timeout: 30_000 }, async (t) => {
  const { vite, port, logs } = await startViteFor(t, makeProject(t))
  for (let i = 0; i < 3; i++) await refusedUpgrade(port)
  assert.equal(logs.lines.filter((line) => FOREIGN.test(line)).length, 1)
  await vite.close()
  const written = logs.lines.filter((line) => FOREIGN.test(line))
  assert.equal(written.length, 2, written.join('\n'))
  assert.match(written[1], /\(and 2 more times in the last 5 s\)$/)
})
