// allowedOrigins through a real dev server: the same request gets the same answer each time.

import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { suiteCleanup } from './helpers/cleanup.js'
import { makeProject, startViteFor } from './helpers/project.js'
import { upgrade } from './helpers/ws-client.js'

describe('a RegExp with the g or y flag in allowedOrigins', () => {
  const cleanup = suiteCleanup()
  let port
  before(async () => {
    ;({ port } = await startViteFor(cleanup, makeProject(cleanup), {
      options: { allowedOrigins: [/^https:\/\/app\.example$/g, /https:\/\/sticky\.example/y] },
    }))
  })

  it('admits its origin on every request, not every other one (lastIndex)', async () => {
    for (const origin of ['https://app.example', 'https://sticky.example']) {
      const statuses = []
      for (let i = 0; i < 3; i++) {
        const res = await upgrade({ port, path: '/api/echo', headers: { Origin: origin } })
        statuses.push(res.status)
        res.socket.destroy()
      }
      assert.deepEqual(statuses, [101, 101, 101], origin)
    }
    const other = await upgrade({ port, path: '/api/echo', headers: { Origin: 'https://evil.example' } })
    assert.equal(other.status, 403)
    other.socket.destroy()
  })
})

describe('a page of this dev server under another loopback name', () => {
  const cleanup = suiteCleanup()
  let port
  before(async () => {
    ;({ port } = await startViteFor(cleanup, makeProject(cleanup)))
  })

  it('is admitted on the same port (a page at 127.0.0.1 whose code says localhost), not on another', async () => {
    const statuses = {}
    for (const origin of [`http://localhost:${port}`, `http://[::1]:${port}`, `http://localhost:${port + 1}`, 'http://localhost']) {
      const res = await upgrade({ port, path: '/api/echo', headers: { Origin: origin } })
      statuses[origin] = res.status
      res.socket.destroy()
    }
    assert.deepEqual(statuses, {
      [`http://localhost:${port}`]: 101,
      [`http://[::1]:${port}`]: 101,
      [`http://localhost:${port + 1}`]: 403,
      'http://localhost': 403,
    })
  })
})
