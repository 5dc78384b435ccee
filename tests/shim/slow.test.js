// A sidecar that takes longer than the shim's bounded wait to become ready: upgrades get
// 503 after the wait instead of hanging. (In its own file so that it runs in parallel.)

import assert from 'node:assert/strict'
import { it } from 'node:test'
import { makeProject, startViteFor } from './helpers/project.js'
import { upgrade } from './helpers/ws-client.js'

const SLOW = `
import time

from wsside import Handler

time.sleep(30)
slow = Handler("/slow")
`

it('answers 503 after a bounded wait while the sidecar is not ready', { timeout: 40_000 }, async (t) => {
  const root = makeProject(t, { 'slow.py': SLOW })
  const { port, logs } = await startViteFor(t, root, { waitReady: false })
  const started = Date.now()
  const res = await upgrade({ port, path: '/api/slow', ms: 15_000 }).catch((err) => err)
  assert.ok(!(res instanceof Error), String(res))
  const waited = Date.now() - started
  assert.equal(res.statusLine, 'HTTP/1.1 503 Service Unavailable')
  assert.equal(res.headers.connection, 'close')
  assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body))
  assert.ok(waited >= 9_500 && waited < 12_000, `waited ${waited} ms`)
  await logs.waitFor(/refused \/api\/slow: the Python sidecar is not ready \(starting\)/)
})
