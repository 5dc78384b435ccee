// A page as the shim sees it: the HMR socket of Vite's client, and what the shim sends it.

import assert from 'node:assert/strict'
import { connectWs } from './ws-client.js'

/** A page's HMR socket, once Vite has greeted it. */
export async function openPage(port) {
  const page = await connectWs({ port, path: '/', headers: { 'Sec-WebSocket-Protocol': 'vite-hmr' } })
  assert.equal((await page.next({ json: true })).type, 'connected')
  return page
}

/**
 * The wsside payloads (errors and wsside: events) `page` has got since its last look, up to
 * a marker that `vite` sends now: whatever the shim sent before it has arrived by then.
 */
export async function received(vite, page) {
  vite.ws.send('wsside-test:marker', {})
  const got = []
  for (;;) {
    const msg = await page.next({ json: true })
    if (msg.event === 'wsside-test:marker') return got
    if (msg.type === 'error' || msg.event?.startsWith('wsside:')) got.push(msg)
  }
}
