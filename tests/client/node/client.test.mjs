// vite-plugin-wsside/client in Node against a real sidecar: addresses, encodings, the queue,
// listeners. Reconnection: reconnect.test.mjs.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { connect } from '../../../node_shim/client/index.js'
import { Sidecar } from './servers.mjs'
import { nextMessage, statusOf } from './waits.mjs'

let sidecar
const sockets = []
before(async () => {
  sidecar = await Sidecar.start()
})
after(async () => {
  for (const socket of sockets) socket.close()
  await sidecar?.kill('SIGTERM') // none if it failed to start (Sidecar.start stopped it)
})

/** A client to the echo endpoint that `after` closes; resolves once its hello came. */
async function echo(options = {}) {
  const socket = connect('/ws/echo', { url: sidecar.url('/ws/echo'), ...options })
  sockets.push(socket)
  const hello = await nextMessage(socket, 'hello')
  return { socket, hello }
}

test('outside a page, a path alone is refused with the ways out: the browser only in a server-side render, else the full address', () => {
  // What a component's top-level connect meets in a server-side render on Node 22+, where
  // the full address would open a socket from the server at each render.
  assert.throws(() => connect('/ws/echo'), {
    message: "wsside: connect('/ws/echo') ran outside a page: in a server-side render, connect in the browser only (in onMount, useEffect or onMounted); elsewhere give the full address: connect(path, { url: 'ws://host:port/api/ws/echo' })",
  })
})

test('query is added to the URL, protocols are offered', async () => {
  const url = `${sidecar.url('/ws/echo')}?kept=yes`
  const { socket, hello } = await echo({ url, query: { username: 'Ada Lovelace', n: 1, admin: false }, protocols: ['v1'] })
  assert.deepEqual(hello, {
    type: 'hello',
    query: { kept: 'yes', username: 'Ada Lovelace', n: '1', admin: 'false' },
    protocol: 'v1',
  })
  assert.equal(socket.status, 'open')
})

test('a query value not there yet (undefined, null) leaves its key out; an object is refused, naming the key', async () => {
  // Before: `{ token: undefined }` went as ?token=undefined, a token the server saw as given.
  const { hello } = await echo({ query: () => ({ token: undefined, user: null, n: 0, ok: false }) })
  assert.deepEqual(hello.query, { n: '0', ok: 'false' })
  const url = sidecar.url('/ws/echo')
  assert.throws(() => connect('/ws/echo', { url, query: { token: { value: 'x' } } }), {
    name: 'TypeError',
    message: "wsside: connect('/ws/echo'): query.token is of type object, not a string, number or boolean",
  })
})

test('a URLSearchParams query keeps repeated keys; a string or an array is refused, not spelt out character by character', async () => {
  const { hello } = await echo({ query: new URLSearchParams([['tag', 'a'], ['tag', 'b'], ['username', 'Ada']]) })
  assert.deepEqual([hello.tags, hello.query.username], [['a', 'b'], 'Ada'])
  const url = sidecar.url('/ws/echo')
  assert.throws(() => connect('/ws/echo', { url, query: 'username=Ada' }), {
    name: 'TypeError',
    message: `wsside: connect('/ws/echo'): query is an object ({ username: 'Ada' }) or a URLSearchParams, not "username=Ada"`,
  })
  assert.throws(() => connect('/ws/echo', { url, query: [['username', 'Ada']] }), { message: /query is an object .* not \[\["username","Ada"\]\]$/ })
})

const OPTIONS = 'the options are query, protocols, url, timeout and reconnect'

test("an option connect does not know throws, naming it and the options, and for socket.io-client's names what to use instead", () => {
  const url = sidecar.url('/ws/echo')
  // A socket made all the same is closed by `after`.
  const refused = (options, message) => assert.throws(() => sockets.push(connect('/ws/rt', { url, ...options })), { name: 'TypeError', message })
  refused(
    { auth: { token: 's3cret' } },
    `wsside: connect('/ws/rt'): unknown option 'auth': send a token in query ({ query: () => ({ token }) }: read again at each reconnect), or in a first message; ${OPTIONS}`,
  )
  refused(
    { extraHeaders: { Authorization: 'Bearer s3cret' } },
    `wsside: connect('/ws/rt'): unknown option 'extraHeaders': send a token in query ({ query: () => ({ token }) }: read again at each reconnect), or in a first message; ${OPTIONS}`,
  )
  for (const name of ['reconnection', 'reconnectionAttempts', 'reconnectionDelay', 'reconnectionDelayMax']) {
    refused(
      { [name]: false },
      `wsside: connect('/ws/rt'): unknown option '${name}': use reconnect (false, or { minDelay, maxDelay, factor }); ${OPTIONS}`,
    )
  }
  refused({ transports: ['websocket'] }, `wsside: connect('/ws/rt'): unknown option 'transports': it is always a WebSocket: leave it out; ${OPTIONS}`)
  refused(
    { path: '/socket.io' },
    `wsside: connect('/ws/rt'): unknown option 'path': the first argument is the path (below the prefix); a full address goes in url; ${OPTIONS}`,
  )
  // A typo gets the list alone; so does a name every object has.
  refused({ protocol: 'v1' }, `wsside: connect('/ws/rt'): unknown option 'protocol'; ${OPTIONS}`)
  refused({ toString: 'x' }, `wsside: connect('/ws/rt'): unknown option 'toString'; ${OPTIONS}`)
  // The name is wrong whatever its value: undefined too (TypeScript refuses it as well).
  refused({ auth: undefined }, /^wsside: connect\('\/ws\/rt'\): unknown option 'auth': send a token in query/)
  // reconnect: a string is true in JavaScript, and a misspelt delay would take its default.
  for (const reconnect of ['false', 0, null, [], { maxdelay: 5000 }, { minDelay: 100, retries: 3 }]) {
    refused({ reconnect }, `wsside: connect('/ws/rt'): reconnect is true, false or { minDelay, maxDelay, factor } (ms), not ${JSON.stringify(reconnect)}`)
  }
  // Options that are not an object: not spelt out character by character as unknown options.
  for (const options of ['v1', ['v1'], null, 1]) {
    assert.throws(() => connect('/ws/rt', options), {
      name: 'TypeError',
      message: `wsside: connect('/ws/rt'): options is an object of query, protocols, url, timeout and reconnect, not ${JSON.stringify(options)}`,
    })
  }
})

test("options are an object's own enumerable keys: undefined values take their defaults, a class instance and inherited keys work", async () => {
  // As before: each option given as undefined.
  const { hello } = await echo({ query: undefined, protocols: undefined, timeout: undefined, reconnect: undefined })
  assert.deepEqual(hello.query, {})
  // A class instance: own fields, a getter on its prototype (read, not checked), a method.
  class Options {
    query = { username: 'Ada' }
    get url() {
      return sidecar.url('/ws/echo')
    }
    describe() {
      return 'echo'
    }
  }
  // Inherited enumerable keys, and own keys that are not enumerable or are symbols, are not options.
  const inherited = Object.create({ auth: { token: 's3cret' } }, { reconnection: { value: false, enumerable: false } })
  Object.assign(inherited, { url: sidecar.url('/ws/echo'), query: { username: 'Grace' }, [Symbol('tag')]: 1 })
  const received = []
  for (const options of [new Options(), inherited]) {
    const socket = connect('/ws/echo', options)
    sockets.push(socket)
    received.push((await nextMessage(socket, 'hello')).query.username)
  }
  assert.deepEqual(received, ['Ada', 'Grace'])
})

test('a relative path gets the call that works', () => {
  globalThis.location = { href: 'http://127.0.0.1:5173/page' }
  try {
    assert.throws(() => connect('./ws/chat'), { message: "wsside: connect('./ws/chat'): the path goes below the prefix and starts with /: connect('/ws/chat')" })
    assert.throws(() => connect('ws/chat'), { message: "wsside: connect('ws/chat'): the path goes below the prefix and starts with /: connect('/ws/chat')" })
  } finally {
    delete globalThis.location
  }
})

test('a ? or # in the path, which would end it, gets the ways that keep it', () => {
  globalThis.location = { href: 'http://127.0.0.1:5173/page' }
  const ways = 'a ? or # would end the path: give the query as { query }, a value in the path as ${encodeURIComponent(value)}'
  try {
    // `/ws/rooms/${id}` with id 'what?' would join room 'what'; with 'a#b', room 'a'.
    assert.throws(() => connect('/ws/rooms/what?'), { message: `wsside: connect('/ws/rooms/what?'): ${ways}` })
    assert.throws(() => connect('/ws/rooms/a#b'), { message: `wsside: connect('/ws/rooms/a#b'): ${ways}` })
    assert.throws(() => connect('/ws/chat?token=x'), { message: `wsside: connect('/ws/chat?token=x'): ${ways}` })
    // A relative path is told the path that works, without what would be refused next.
    assert.throws(() => connect('ws/chat?token=x'), { message: "wsside: connect('ws/chat?token=x'): the path goes below the prefix and starts with /: connect('/ws/chat')" })
  } finally {
    delete globalThis.location
  }
})

test('objects and arrays go as JSON, text as text, binary as binary', async () => {
  const { socket } = await echo()
  const received = []
  socket.on('*', (message) => received.push(message))
  const sent = [
    { type: 'chat', text: 'hé', n: [1, 2.5, null, true] },
    [1, 'two'],
    42,
    'plain text',
    new Uint8Array([1, 2, 3]),
    new Uint8Array([9, 8, 7, 6]).subarray(1, 3),
    new Uint16Array([0x0102]).buffer,
    new Blob([new Uint8Array([0xff, 0])]),
  ]
  for (const message of sent) socket.send(message)
  socket.send({ type: 'last' })
  await nextMessage(socket, 'last')
  const bytes = (m) => (m instanceof ArrayBuffer ? [...new Uint8Array(m)] : m)
  assert.deepEqual(received.map(bytes), [
    { type: 'chat', text: 'hé', n: [1, 2.5, null, true] },
    [1, 'two'],
    42,
    'plain text',
    [1, 2, 3],
    [8, 7],
    [...new Uint8Array(new Uint16Array([0x0102]).buffer)],
    [0xff, 0],
    { type: 'last' },
  ])
})

test('what cannot be encoded throws at the call', async () => {
  const { socket } = await echo()
  assert.throws(() => socket.send(undefined), { name: 'TypeError', message: 'wsside: cannot send undefined' })
  assert.throws(() => socket.send(() => {}), { name: 'TypeError', message: 'wsside: cannot send function' })
  assert.throws(() => socket.send({ big: 1n }), TypeError)
})

test('messages sent before the socket opens wait, then go in order', async () => {
  const socket = connect('/ws/echo', { url: sidecar.url('/ws/echo') })
  sockets.push(socket)
  assert.equal(socket.status, 'connecting')
  const received = []
  const last = new Promise((resolve) => socket.on('*', (m) => received.push(m) === 8 && resolve(undefined)))
  // Sent as soon as the socket opens, yet after what waited.
  socket.onStatus((status) => status === 'open' && socket.send('from a watcher'))
  for (let n = 0; n < 5; n++) socket.send({ type: 'n', n })
  socket.send('text too')
  await last
  assert.equal(received[0].type, 'hello')
  assert.deepEqual(received.slice(1), [
    ...[0, 1, 2, 3, 4].map((n) => ({ type: 'n', n })),
    'text too',
    'from a watcher',
  ])
})

test('a full queue throws instead of dropping, naming the address without its query, and loses nothing it accepted', async () => {
  // The error names the address without its query, where a page's token goes (error reports).
  const socket = connect('/ws/echo', { url: `${sidecar.url('/ws/echo')}?token=s3cret` })
  sockets.push(socket)
  for (let n = 0; n < 1000; n++) socket.send({ type: 'n', n })
  assert.throws(() => socket.send({ type: 'n', n: 1000 }), {
    message: `wsside: 1000 messages already wait for ${sidecar.url('/ws/echo')} to open; message not sent`,
  })
  const numbers = []
  await new Promise((resolve) =>
    socket.on('n', ({ n }) => {
      numbers.push(n)
      if (n === 999) resolve(undefined)
    }),
  )
  assert.deepEqual(numbers, [...Array(1000).keys()])
  socket.send({ type: 'n', n: 1000 })
  assert.equal((await nextMessage(socket, 'n')).n, 1000)
})

test('on(type) gets its type only, * gets all, unsubscribing stops both', async () => {
  const { socket } = await echo()
  const a = []
  const all = []
  const offA = socket.on('a', (m) => a.push(m.n))
  const offAll = socket.on('*', (m) => all.push(m.n ?? m.type ?? m))
  socket.send({ type: 'a', n: 1 })
  socket.send({ type: 'b', n: 2 })
  socket.send('a')
  socket.send({ type: 'sync' })
  await nextMessage(socket, 'sync')
  offA()
  offAll()
  socket.send({ type: 'a', n: 3 })
  socket.send({ type: 'sync' })
  await nextMessage(socket, 'sync')
  assert.deepEqual(a, [1])
  assert.deepEqual(all, [1, 2, 'a', 'sync'])
})

test('the same function subscribed twice is two subscriptions, each unsubscribed alone', async () => {
  // Two components sharing a module-level handler: one leaving must not silence the other.
  const { socket } = await echo()
  const seen = []
  const watch = (status) => seen.push(status)
  const count = (m) => seen.push(m.type)
  const offWatch = socket.onStatus(watch)
  socket.onStatus(watch)
  const offCount = socket.on('sync', count)
  socket.on('sync', count)
  offWatch()
  offCount()
  socket.send({ type: 'sync' })
  await nextMessage(socket, 'sync')
  socket.close()
  assert.deepEqual(seen, ['sync', 'closed'])
})

test('without a global WebSocket or a document (a server-side render or a Node script on Node 20), connect says what to do, the render first', () => {
  const { WebSocket } = globalThis
  delete globalThis.WebSocket
  try {
    assert.throws(() => connect('/ws/echo'), {
      message: 'wsside: connect needs a global WebSocket: in a server-side render, connect in the browser only (in onMount, useEffect or onMounted); in a Node script, Node 22+ has one, Node 20 with node --experimental-websocket; in a Vitest test, the jsdom environment or a vi.mock (docs/client.md, Component tests)',
    })
  } finally {
    globalThis.WebSocket = WebSocket
  }
})

test('without a global WebSocket but with a document, connect names the places that have one', () => {
  const { WebSocket } = globalThis
  delete globalThis.WebSocket
  globalThis.document = {}
  try {
    assert.throws(() => connect('/ws/echo', { url: sidecar.url('/ws/echo') }), {
      message: 'wsside: connect needs a global WebSocket: browsers and Node 22+ have one, Node 20 with node --experimental-websocket; in a Vitest test, the jsdom environment or a vi.mock (docs/client.md, Component tests)',
    })
  } finally {
    globalThis.WebSocket = WebSocket
    delete globalThis.document
  }
})

test('a listener added while a message is dispatched gets the next message, not that one', async () => {
  // As with addEventListener; else a listener that unsubscribes and subscribes again within
  // its call (a `once` that renews itself) would be called again for the same message, forever.
  const { socket } = await echo()
  const got = []
  const renew = () => {
    const off = socket.on('x', (m) => {
      off()
      got.push(m.n)
      renew()
    })
  }
  renew()
  socket.send({ type: 'x', n: 1 })
  socket.send({ type: 'x', n: 2 })
  socket.send({ type: 'sync' })
  await nextMessage(socket, 'sync')
  assert.deepEqual(got, [1, 2])
  const statuses = []
  socket.onStatus((status) => socket.onStatus((later) => statuses.push(later)))
  socket.close()
  assert.deepEqual(statuses, [])
})

test('a listener removed while a message is dispatched is not called for it', async () => {
  const { socket } = await echo()
  const got = []
  let offSecond
  socket.on('x', () => offSecond())
  offSecond = socket.on('x', () => got.push('second'))
  socket.send({ type: 'x' })
  socket.send({ type: 'sync' })
  await nextMessage(socket, 'sync')
  assert.deepEqual(got, [])
})

test('a listener that throws does not keep the others from the message', async () => {
  const { socket } = await echo()
  // Its error is still reported as uncaught, where a page's errors go.
  const thrown = new Promise((resolve) => process.setUncaughtExceptionCaptureCallback(resolve))
  socket.on('x', () => {
    throw new Error('listener bug')
  })
  const second = nextMessage(socket, 'x')
  socket.send({ type: 'x' })
  assert.deepEqual(await second, { type: 'x' })
  assert.equal((await thrown).message, 'listener bug')
  process.setUncaughtExceptionCaptureCallback(null)
})

test('close() closes for good: closed at once, sending then throws, naming the address without its query', async () => {
  const { socket } = await echo({ query: { token: 's3cret' } })
  const seen = []
  socket.onStatus((status, close) => seen.push([status, close]))
  socket.close(4000, 'done')
  assert.equal(socket.status, 'closed')
  assert.deepEqual(seen, [['closed', undefined]])
  assert.throws(() => socket.send({ type: 'late' }), {
    message: `wsside: ${sidecar.url('/ws/echo')} is closed; message not sent`,
  })
  socket.close()
  assert.deepEqual(seen, [['closed', undefined]])
})

test('close() without a code closes with 1000 Normal Closure, as the server sees it; a code given goes as given', async () => {
  const watcher = connect('/ws/live', { url: `${sidecar.url('/ws/live')}?watch` })
  sockets.push(watcher)
  await nextMessage(watcher, 'live')
  for (const [args, code, reason] of [[[], 1000, ''], [[4001, 'bye'], 4001, 'bye']]) {
    const counted = connect('/ws/live', { url: sidecar.url('/ws/live') })
    sockets.push(counted)
    await statusOf(counted, 'open')
    const left = nextMessage(watcher, 'left')
    counted.close(...args)
    assert.deepEqual(await left, { type: 'left', code, reason })
  }
})

test('a message too big for the endpoint closes with 1009, for good', async () => {
  const { socket } = await echo()
  const closed = statusOf(socket, 'closed')
  socket.send('x'.repeat(5000))
  assert.equal((await closed).code, 1009)
})
