// Reconnection in Node: which closes bring the client back and which stop it, a killed and
// restarted sidecar, the backoff's bounds and jitter, close() while waiting.
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import { after, before, test } from 'node:test'
import { connect } from '../../../node_shim/client/index.js'
import { cleanupOf } from '../../shim/helpers/cleanup.js'
import { refusingServer, Sidecar, silentServer } from './servers.mjs'
import { nextMessage, statuses, statusOf } from './waits.mjs'

// Short waits keep the tests quick; the defaults (500 ms to 10 s) are for people.
const FAST = { minDelay: 20, maxDelay: 40, factor: 2 }
// Long enough for several attempts at FAST's longest wait: how long a test watches for an
// attempt that must not come.
const QUIET_MS = 10 * FAST.maxDelay

let sidecar
const sockets = []
before(async () => {
  sidecar = await Sidecar.start()
})
after(async () => {
  for (const socket of sockets) socket.close()
  await sidecar?.kill('SIGTERM') // none if it failed to start (Sidecar.start stopped it)
})

/** A server from servers.mjs, closed when test `t` ends, however it ends. */
async function serverFor(t, make) {
  const server = await make()
  cleanupOf(t).add(() => server.close())
  return server
}

/** connect(...), closed when test `t` ends, however it ends (before the server it talks to). */
function connectFor(t, ...args) {
  const socket = connect(...args)
  cleanupOf(t).add(() => socket.close())
  return socket
}

async function echo(options = {}) {
  const socket = connect('/ws/echo', { url: sidecar.url('/ws/echo'), reconnect: FAST, ...options })
  sockets.push(socket)
  await nextMessage(socket, 'hello')
  return socket
}

/** Asks the server to close with `code`; resolves with the status that follows and its close info. */
async function closedByServer(socket, code) {
  const next = new Promise((resolve) => {
    const off = socket.onStatus((status, close) => (off(), resolve({ status, code: close?.code })))
  })
  socket.send({ type: 'close', code, reason: `closing with ${code}` })
  return next
}

test('a query function is read at each attempt: a reconnect carries the token of the moment', async () => {
  let token = 'first'
  const socket = connect('/ws/echo', { url: sidecar.url('/ws/echo'), reconnect: FAST, query: () => ({ token }) })
  sockets.push(socket)
  assert.equal((await nextMessage(socket, 'hello')).query.token, 'first')
  token = 'refreshed'
  const again = nextMessage(socket, 'hello')
  socket.send({ type: 'close', code: 1012, reason: 'restart' })
  assert.equal((await again).query.token, 'refreshed')
})

test('a query function that returns no object is refused at connect, naming it', () => {
  assert.throws(() => connect('/ws/echo', { url: sidecar.url('/ws/echo'), query: () => 'token=x' }), {
    name: 'TypeError',
    message: `wsside: connect('/ws/echo'): query() returns an object ({ username: 'Ada' }) or a URLSearchParams, not "token=x"`,
  })
})

for (const code of [1000, 1001, 1011, 1012, 1013, 1014, 3000, 3999]) {
  test(`a server close with ${code} reconnects`, async () => {
    const socket = await echo()
    const hello = nextMessage(socket, 'hello')
    assert.deepEqual(await closedByServer(socket, code), { status: 'reconnecting', code })
    await hello
    assert.equal(socket.status, 'open')
  })
}

for (const code of [1002, 1003, 1007, 1008, 1009, 4000, 4001, 4999]) {
  test(`a server close with ${code} stops the client`, async () => {
    const socket = await echo()
    let hellos = 0
    socket.on('hello', () => hellos++)
    assert.deepEqual(await closedByServer(socket, code), { status: 'closed', code })
    await delay(QUIET_MS)
    assert.equal(hellos, 0)
    assert.equal(socket.status, 'closed')
  })
}

// kill -9: no close frame (1006); SIGTERM, as in a rolling restart: wsside serve closes
// each connection 1001 "Going Away". Either way the client is back on the next process.
for (const [signal, close] of [
  ['SIGKILL', { code: 1006, reason: '' }],
  ['SIGTERM', { code: 1001, reason: 'Going Away' }],
]) {
  test(`${signal} of the sidecar: reconnecting until it is back, then what waited is sent`, async () => {
    const socket = await echo()
    const seen = statuses(socket)
    const dropped = statusOf(socket, 'reconnecting')
    await sidecar.kill(signal)
    assert.deepEqual(await dropped, close)
    socket.send({ type: 'sent-while-down' })
    const hello = nextMessage(socket, 'hello')
    const echoed = nextMessage(socket, 'sent-while-down')
    await sidecar.start()
    await hello
    assert.deepEqual(await echoed, { type: 'sent-while-down' })
    assert.deepEqual(seen, ['reconnecting', 'open'])
  })
}

test('the first connection failing is retried too', async (t) => {
  const refusing = await serverFor(t, refusingServer)
  const socket = connectFor(t, '/ws/echo', { url: refusing.url, reconnect: FAST })
  assert.equal(socket.status, 'connecting')
  assert.equal((await statusOf(socket, 'reconnecting')).code, 1006)
  await refusing.reach(3)
})

test('reconnect: false stops at the first close', async () => {
  const socket = await echo({ reconnect: false })
  const seen = statuses(socket)
  assert.deepEqual(await closedByServer(socket, 1012), { status: 'closed', code: 1012 })
  assert.deepEqual(seen, ['closed'])
})

test('close() while waiting to reconnect: no attempt after it', async (t) => {
  const refusing = await serverFor(t, refusingServer)
  const socket = connectFor(t, '/ws/echo', { url: refusing.url, reconnect: FAST })
  await refusing.reach(2)
  socket.close()
  const count = refusing.attempts.length
  await delay(QUIET_MS)
  assert.equal(refusing.attempts.length, count)
  assert.equal(socket.status, 'closed')
})

// Each wait is random between minDelay and min(maxDelay, minDelay * factor ** n). With
// Math.random pinned at either end, the gaps between attempts show both bounds.
const BACKOFF = { minDelay: 100, maxDelay: 400, factor: 2 }
// Timers never fire early by more than a millisecond; an attempt's own handshake and a busy
// machine can only add time.
const EARLY_MS = 2
const LATE_MS = 150

/** The gaps (ms) between `count + 1` attempts at a refusing server, with Math.random as `random`. */
async function gaps(t, random, count) {
  const refusing = await serverFor(t, refusingServer)
  const realRandom = Math.random
  Math.random = random
  try {
    const socket = connectFor(t, '/ws/echo', { url: refusing.url, reconnect: BACKOFF })
    await refusing.reach(count + 1)
    socket.close()
  } finally {
    Math.random = realRandom
  }
  return refusing.attempts.slice(1).map((time, n) => time - refusing.attempts[n])
}

/** Each gap is at least its `lowest` (less a timer's rounding) and not far above its `highest`. */
function assertWithin(measured, lowest, highest) {
  assert.equal(measured.length, highest.length)
  measured.forEach((gap, n) => {
    const ok = gap >= lowest[n] - EARLY_MS && gap < highest[n] + LATE_MS
    assert.ok(ok, `gap ${n + 1} of ${measured.map(Math.round)}: ${gap} ms, expected ${lowest[n]}..${highest[n]} ms`)
  })
}

test('backoff: the lowest jitter waits minDelay each time', async (t) => {
  assertWithin(await gaps(t, () => 0, 4), [100, 100, 100, 100], [100, 100, 100, 100])
})

test('backoff: the highest jitter doubles up to maxDelay', async (t) => {
  const top = [200, 400, 400, 400]
  assertWithin(await gaps(t, () => 1 - Number.EPSILON, 4), top, top)
})

test('backoff: real jitter stays between the bounds', async (t) => {
  assertWithin(await gaps(t, Math.random, 5), [100, 100, 100, 100, 100], [200, 400, 400, 400, 400])
})

test('backoff: short-lived connections keep backing off; one open for maxDelay starts over', async () => {
  const realRandom = Math.random
  Math.random = () => 1 - Number.EPSILON
  try {
    const socket = await echo({ reconnect: BACKOFF })
    const waits = []
    let down = 0
    socket.onStatus((status) => {
      if (status === 'reconnecting') down = performance.now()
      if (status === 'open') waits.push(performance.now() - down)
    })
    // Three drops right after each open: the waits grow.
    for (let n = 0; n < 3; n++) {
      const hello = nextMessage(socket, 'hello')
      socket.send({ type: 'close', code: 1012 })
      await hello
    }
    // Open for longer than maxDelay, then dropped: the first wait again.
    await delay(BACKOFF.maxDelay)
    const hello = nextMessage(socket, 'hello')
    socket.send({ type: 'close', code: 1012 })
    await hello
    assertWithin(waits, [200, 400, 400, 200], [200, 400, 400, 200])
  } finally {
    Math.random = realRandom
  }
})

test('the close info is a plain { code, reason }, which survives JSON and spreading', async () => {
  const socket = await echo()
  const closed = statusOf(socket, 'closed')
  socket.send({ type: 'close', code: 4001, reason: 'kicked' })
  const close = await closed
  assert.deepEqual(close, { code: 4001, reason: 'kicked' })
  assert.equal(JSON.stringify(close), '{"code":4001,"reason":"kicked"}')
})

test('reconnect and timeout options that would retry in a loop throw at connect', () => {
  const url = 'ws://127.0.0.1:9/api/ws/echo'
  for (const reconnect of [
    { minDelay: 0 },
    { minDelay: -1 },
    { minDelay: Number.NaN },
    { factor: 0.5 },
    { minDelay: 500, maxDelay: 100 },
    { maxDelay: Infinity },
    // setTimeout would take it as 1 ms.
    { maxDelay: 2 ** 31 },
  ]) {
    assert.throws(() => connect('/ws/echo', { url, reconnect }), RangeError, JSON.stringify(reconnect))
  }
  for (const timeout of [0, Number.NaN, Infinity, 2 ** 31]) {
    assert.throws(() => connect('/ws/echo', { url, timeout }), RangeError, String(timeout))
  }
})

test('a handshake never answered is given up after timeout, and retried', { timeout: 5000 }, async (t) => {
  const silent = await serverFor(t, silentServer)
  const socket = connectFor(t, '/ws/echo', { url: silent.url, reconnect: FAST, timeout: 100 })
  assert.deepEqual(await statusOf(socket, 'reconnecting'), { code: 1006, reason: 'no answer to the handshake in 100 ms' })
  await silent.reach(3)
  socket.close()
  const count = silent.attempts.length
  await delay(QUIET_MS)
  assert.equal(silent.attempts.length, count)
})

test('close() during a handshake goes to closed with no reconnecting before it', { timeout: 5000 }, async (t) => {
  const silent = await serverFor(t, silentServer)
  const socket = connectFor(t, '/ws/echo', { url: silent.url, reconnect: FAST })
  const seen = statuses(socket)
  await silent.reach(1)
  socket.close() // Node's WebSocket fires `error` from within close() then
  assert.deepEqual(seen, ['closed'])
})

test('with reconnect: false, a handshake never answered closes the client after timeout', { timeout: 5000 }, async (t) => {
  const silent = await serverFor(t, silentServer)
  const socket = connectFor(t, '/ws/echo', { url: silent.url, reconnect: false, timeout: 100 })
  assert.deepEqual(await statusOf(socket, 'closed'), { code: 1006, reason: 'no answer to the handshake in 100 ms' })
})

test('retryAt: when the next attempt starts while waiting, null during an attempt and after close()', async (t) => {
  const refusing = await serverFor(t, refusingServer)
  const socket = connectFor(t, '/ws/echo', { url: refusing.url, reconnect: BACKOFF })
  const during = []
  refusing.server.on('attempt', () => during.push(socket.retryAt))
  const waiting = new Promise((resolve) => {
    socket.onStatus((status) => status === 'reconnecting' && resolve([Date.now(), socket.retryAt]))
  })
  assert.equal(socket.retryAt, null)
  const [now, retryAt] = await waiting
  // The first wait: between minDelay and minDelay * factor.
  assert.ok(retryAt >= now + BACKOFF.minDelay - EARLY_MS && retryAt <= now + 2 * BACKOFF.minDelay, `${retryAt - now} ms`)
  assert.ok(Number.isInteger(retryAt), `${retryAt}: a Date.now() time is whole ms`)
  await refusing.reach(3)
  assert.deepEqual(during, [null, null, null])
  socket.close()
  assert.equal(socket.retryAt, null)
})

/** Gives Node a page's addEventListener for `online`; the returned function takes it away. */
function pageEvents() {
  const target = new EventTarget()
  globalThis.addEventListener = target.addEventListener.bind(target)
  globalThis.removeEventListener = target.removeEventListener.bind(target)
  return {
    online: () => target.dispatchEvent(new Event('online')),
    /** `pagehide` or `pageshow`, into or out of the back/forward cache if `persisted`. */
    transition: (name, persisted) => target.dispatchEvent(Object.assign(new Event(name), { persisted })),
    restore: () => {
      delete globalThis.addEventListener
      delete globalThis.removeEventListener
    },
  }
}

test('online: a long wait built up while offline is replaced by a first wait', async (t) => {
  const page = pageEvents()
  cleanupOf(t).add(() => page.restore())
  const refusing = await serverFor(t, refusingServer)
  const realRandom = Math.random
  // Math.random is called once per wait: the calls tell when a wait starts.
  const waits = new EventEmitter()
  Math.random = () => (waits.emit('wait'), 1 - Number.EPSILON)
  try {
    // Waits of 1 s, then 10 s, then 60 s (each n-th at its longest, 100 ms × 10^n): the
    // second is the long one.
    const second = new Promise((resolve) => {
      let count = 0
      waits.on('wait', () => ++count === 2 && resolve(undefined))
    })
    const socket = connectFor(t, '/ws/echo', { url: refusing.url, reconnect: { minDelay: 100, maxDelay: 60_000, factor: 10 } })
    await second
    assert.ok(socket.retryAt - Date.now() > 5000)
    const before = performance.now()
    page.online()
    assert.ok(socket.retryAt - Date.now() <= 10 * 100)
    await refusing.reach(3) // two before the long wait, one after the first wait
    assert.ok(performance.now() - before < 1000 + LATE_MS)
    socket.close()
    // Closed: the event is no longer heard.
    const count = refusing.attempts.length
    page.online()
    await delay(QUIET_MS)
    assert.equal(refusing.attempts.length, count)
  } finally {
    Math.random = realRandom
  }
})

test('back/forward cache: closed as the page goes in, opened at once as it comes back', { timeout: 5000 }, async (t) => {
  const page = pageEvents()
  cleanupOf(t).add(() => page.restore())
  const socket = connectFor(t, '/ws/echo', { url: sidecar.url('/ws/echo'), reconnect: { minDelay: 60_000, maxDelay: 60_000 } })
  const seen = statuses(socket)
  await statusOf(socket, 'open')
  page.transition('pagehide', false) // unloaded, not cached: the browser closes its sockets
  assert.equal(socket.status, 'open')
  const hidden = statusOf(socket, 'reconnecting')
  page.transition('pagehide', true)
  assert.deepEqual(await hidden, { code: 1000, reason: 'page in the back/forward cache' })
  assert.ok(socket.retryAt > Date.now())
  page.transition('pageshow', true) // not after the 60 s wait
  assert.equal(socket.retryAt, null)
  await statusOf(socket, 'open')
  assert.deepEqual(seen, ['open', 'reconnecting', 'open'])
  const once = connectFor(t, '/ws/echo', { url: sidecar.url('/ws/echo'), reconnect: false })
  await statusOf(once, 'open')
  page.transition('pagehide', true)
  assert.equal(once.status, 'closed')
})
