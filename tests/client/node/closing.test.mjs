// A socket closed from the page's own callbacks: the watchers after the one that closed, and
// the messages that still come on a closed socket. Those with the `ws` package as the global
// WebSocket (docs/client.md's Vitest setup), which delivers what comes while a socket closes;
// browsers and Node's WebSocket deliver none.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { after, before, test } from 'node:test'
import { connect } from '../../../node_shim/client/index.js'
import { cleanupOf } from '../../shim/helpers/cleanup.js'
import { Sidecar } from './servers.mjs'
import { nextMessage, statusOf } from './waits.mjs'

const { WebSocket: WsPackage } = createRequire(import.meta.url)('../../../node_shim/node_modules/ws')
// Messages the page sends at once and the echo endpoint sends back in a burst: most of them
// reach the page after it closed on the first.
const BURST = 100

let sidecar
before(async () => {
  sidecar = await Sidecar.start()
})
after(async () => {
  await sidecar?.kill('SIGTERM') // none if it failed to start (Sidecar.start stopped it)
})

/**
 * Makes the `ws` package's WebSocket the global one until test `t` ends; `made` holds the
 * sockets the client opens through it, so that a test can wait for one's own `close` event.
 */
function wsPackage(t) {
  const { WebSocket } = globalThis
  const made = []
  globalThis.WebSocket = class extends WsPackage {
    constructor(...args) {
      super(...args)
      made.push(this)
    }
  }
  cleanupOf(t).add(() => {
    globalThis.WebSocket = WebSocket
  })
  return made
}

test("a watcher that closes on 'reconnecting': the watchers after it are told 'closed' only, the status the socket is in", async (t) => {
  const socket = connect('/ws/echo', { url: sidecar.url('/ws/echo') })
  cleanupOf(t).add(() => socket.close())
  await nextMessage(socket, 'hello')
  // App code that gives up at the first drop, then UI code that shows the status it is told.
  socket.onStatus((status) => status === 'reconnecting' && socket.close())
  const seen = []
  socket.onStatus((status, close) => seen.push([status, close]))
  const closed = statusOf(socket, 'closed')
  socket.send({ type: 'close', code: 1011, reason: 'handler error' })
  await closed
  // Not told 'reconnecting' after 'closed': the socket had left it before their turn came.
  assert.deepEqual(seen, [['closed', undefined]])
  assert.equal(socket.status, 'closed')
})

test('the ws package: no message reaches a listener after close()', async (t) => {
  const made = wsPackage(t)
  const socket = connect('/ws/echo', { url: sidecar.url('/ws/echo') })
  cleanupOf(t).add(() => socket.close())
  await nextMessage(socket, 'hello')
  const got = []
  socket.on('n', ({ n }) => {
    got.push(n)
    socket.close()
  })
  for (let n = 0; n < BURST; n++) socket.send({ type: 'n', n })
  // The socket's own close: all that came before it has been dispatched.
  await once(made[0], 'close')
  assert.deepEqual(got, [0])
})

test('the ws package: no message of a socket dropped while open (the browser offline) reaches a listener', async (t) => {
  const page = new EventTarget()
  globalThis.addEventListener = page.addEventListener.bind(page)
  globalThis.removeEventListener = page.removeEventListener.bind(page)
  cleanupOf(t).add(() => {
    delete globalThis.addEventListener
    delete globalThis.removeEventListener
  })
  const made = wsPackage(t)
  // No attempt after the drop while the test watches: the dropped socket's messages alone.
  const socket = connect('/ws/echo', { url: sidecar.url('/ws/echo'), reconnect: { minDelay: 60_000, maxDelay: 60_000 } })
  cleanupOf(t).add(() => socket.close())
  await nextMessage(socket, 'hello')
  const got = []
  socket.on('n', ({ n }) => {
    got.push(n)
    page.dispatchEvent(new Event('offline'))
  })
  for (let n = 0; n < BURST; n++) socket.send({ type: 'n', n })
  await once(made[0], 'close')
  assert.deepEqual(got, [0])
  assert.equal(socket.status, 'reconnecting')
})
