// `vite preview` gets the same WebSocket routing as the dev server.

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { makeProject, removeProject, startVite, waitForExit } from './helpers/project.js'
import { connectWs, upgrade } from './helpers/ws-client.js'

describe('vite preview', () => {
  let root, vite, port, pid

  before(async () => {
    root = makeProject()
    ;({ vite, port, pid } = await startVite(root, { mode: 'preview' }))
  })

  after(async () => {
    await vite?.close()
    removeProject(root)
  })

  it('echoes through the sidecar', async () => {
    const ws = await connectWs({ port, path: '/api/echo' })
    ws.send('preview')
    assert.equal(await ws.next(), 'preview')
    ws.close()
  })

  it('checks Origin as in dev', async () => {
    const res = await upgrade({ port, path: '/api/echo', headers: { Origin: 'http://evil.example' } })
    assert.equal(res.status, 403)
  })

  it('answers a plain GET of an endpoint with 426 as in dev', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/echo`, { headers: { Accept: 'text/html' } })
    assert.equal(res.status, 426)
    assert.match(await res.text(), /only speaks WebSocket/)
  })

  it('close() closes clients with 1001 and stops the sidecar', async () => {
    const ws = await connectWs({ port, path: '/api/echo' })
    await vite.close()
    assert.equal((await ws.closed).code, 1001)
    await waitForExit(pid)
    vite = null
  })
})
