// A server.proxy rule with ws: true that covers an endpoint forwards its upgrades elsewhere
// (Vite's proxy serves what it matches, as for plain requests): the endpoint list at start
// says so beside each such endpoint, rather than advertising it as Python's.

import assert from 'node:assert/strict'
import { it } from 'node:test'
import { makeProject, startViteFor } from './helpers/project.js'

it('lists an endpoint a ws: true proxy rule takes with that rule', async (t) => {
  const root = makeProject(t)
  const proxy = { '/api/echo': { target: 'http://127.0.0.1:9', ws: true }, '/rest': 'http://127.0.0.1:9' }
  const { logs } = await startViteFor(t, root, { server: { proxy } })
  const [line] = await logs.waitFor(/\/api\/echo {2}\(ws\/echo\.py:\d+\).*/)
  assert.match(line, /\/api\/echo {2}\(ws\/echo\.py:\d+\) {2}\[server\.proxy\['\/api\/echo'\] \(ws: true\) forwards it elsewhere\]$/)
})

it('lists the others as they are', async (t) => {
  const root = makeProject(t)
  const { logs } = await startViteFor(t, root, { server: { proxy: { '/rest': { target: 'http://127.0.0.1:9', ws: true } } } })
  const [line] = await logs.waitFor(/\/api\/echo {2}\(ws\/echo\.py:\d+\).*/)
  assert.doesNotMatch(line, /server\.proxy/)
})
