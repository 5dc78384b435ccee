// `vite preview` gets the same WebSocket routing as the dev server.

import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { before, describe, it } from 'node:test'
import { suiteCleanup } from './helpers/cleanup.js'
import { makeProject, startViteFor, waitForExit } from './helpers/project.js'
import { connectWs, upgrade } from './helpers/ws-client.js'

describe('vite preview', () => {
  const cleanup = suiteCleanup()
  let vite, port, pid, logs

  before(async () => {
    ;({ vite, port, pid, logs } = await startViteFor(cleanup, makeProject(cleanup), { mode: 'preview' }))
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

  it("names the preview server and the setting it reads (preview.allowedHosts) in its refusals", async () => {
    const cases = [
      [{ Host: `rebind.example:${port}` },
        `Host "rebind.example:${port}" is not allowed; add it to preview.allowedHosts in vite.config`],
      [{ Origin: 'http://elsewhere.example' },
        `Origin "http://elsewhere.example" is not this preview server (127.0.0.1:${port}); add it to the allowedOrigins option of wsside()`],
    ]
    for (const [headers, reason] of cases) {
      const from = logs.lines.length
      const res = await upgrade({ port, path: '/api/echo', headers })
      assert.equal(res.status, 403)
      res.socket.destroy()
      const [line] = await logs.waitFor(/refused \/api\/echo: .*/, { from })
      assert.equal(line, `refused /api/echo: ${reason}`)
    }
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
  })
})

it("with Vite's base (`/app/`), a plain GET of an endpoint gets the 426 as in dev", async (t) => {
  const root = makeProject(t)
  mkdirSync(path.join(root, 'dist'))
  writeFileSync(path.join(root, 'dist', 'index.html'), '<!doctype html><title>built</title>')
  const { port } = await startViteFor(t, root, { mode: 'preview', config: { base: '/app/' } })
  const res = await fetch(`http://127.0.0.1:${port}/api/echo`, { headers: { Accept: 'text/html' } })
  assert.equal(res.status, 426)
  assert.match(await res.text(), /only speaks WebSocket/)
  const missing = await fetch(`http://127.0.0.1:${port}/api/nothing-here`, { headers: { Accept: 'text/html' } })
  assert.equal(missing.status, 404)
  assert.match(await missing.text(), /public base URL of \/app\//)
  assert.match(await (await fetch(`http://127.0.0.1:${port}/app/`)).text(), /<title>built<\/title>/)
})

it('with preview: false, an upgrade under the prefix gets a 503 and one line, not the built page', async (t) => {
  const root = makeProject(t)
  mkdirSync(path.join(root, 'dist'))
  writeFileSync(path.join(root, 'dist', 'index.html'), '<!doctype html><title>built</title>')
  const { port, logs } = await startViteFor(t, root, { mode: 'preview', waitReady: false, options: { preview: false } })
  for (let i = 0; i < 2; i++) {
    const res = await upgrade({ port, path: '/api/echo' })
    assert.equal(res.status, 503)
    assert.match(res.body, /preview option is false/)
  }
  const [line] = await logs.waitFor(/refused \/api\/echo: .*/)
  assert.equal(line, 'refused /api/echo: wsside() has preview: false, so vite preview serves no handlers (take the option out to serve them here)')
  assert.equal(logs.lines.filter((l) => l.includes('preview: false')).length, 1) // once, not per upgrade
  // The built page and the rest are the preview's as before.
  assert.match(await (await fetch(`http://127.0.0.1:${port}/`)).text(), /<title>built<\/title>/)
})
