// What the typing contract promises a page, checked by tsc (npm run check:client in
// node_shim). Each @ts-expect-error is a wrong use that must stay an error.
import { connect, type ErrorFrame, type Receives, type Sends, type Status } from 'vite-plugin-wsside/client'
import type { ChatIn, ChatOut, RoomOut } from './wsside-env'

const chat = connect('/ws/chat', { query: { username: 'Ada', n: 1, admin: false } })
chat.send({ type: 'chat', room: 'general', text: 'hi' })
chat.send({ type: 'join-room', room: 'random' })
// @ts-expect-error: a message type the server does not receive
chat.send({ type: 'shout', text: 'hi' })
// @ts-expect-error: a field of the wrong type
chat.send({ type: 'chat', room: 'general', text: 42 })
// @ts-expect-error: a missing field
chat.send({ type: 'chat', text: 'hi' })
// @ts-expect-error: text is not what /ws/chat receives
chat.send('hello')

// Exact types, where assignability alone would let `any` through.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const exact = <T extends true>(): T | void => {}
exact<Equal<Receives<'/ws/chat'>, ChatIn>>()
exact<Equal<Sends<'/ws/chat'>, ChatOut>>()
exact<Equal<Parameters<typeof chat.send>[0], ChatIn>>()
exact<Equal<Receives<'/ws/other'>, unknown>>()
// A hand-written file that declares no Paths leaves every path open, untyped where undeclared.
connect('/ws/other').send({ anything: 1 })
exact<Equal<Sends<'/ws/news'>, string>>()
exact<Equal<Receives<'/ws/news'>, unknown>>()

const off = chat.on('chat-message', (m) => {
  exact<Equal<typeof m, Extract<ChatOut, { type: 'chat-message' }>>>()
  const from: string = m.from
  const text: string = m.text
  // @ts-expect-error: narrowed to chat-message, which has no username
  m.username
  return [from, text]
})
off()
chat.on('user-joined', (m) => m.username.toUpperCase())
// @ts-expect-error: not a type the server sends
chat.on('chat', () => {})
chat.on('*', (m: ChatOut) => m.type)
chat.on('*', (m) => {
  // @ts-expect-error: every message is a ChatOut, whose members may lack `text`
  m.text
})

const status: Status = chat.status
chat.onStatus((next, close) => [next === 'reconnecting', close?.code])
const retryAt: number | null = chat.retryAt
// @ts-expect-error: null while open or during an attempt
const retryIn: number = chat.retryAt - Date.now()
// @ts-expect-error: read-only
chat.retryAt = 0
// docs/client.md's countdown, as written there.
declare const banner: HTMLElement
const socket = chat
setInterval(() => {
  const at = socket.retryAt  // one read: a number while waiting, else null
  banner.textContent =
    at === null ? socket.status : `reconnecting in ${Math.max(0, Math.ceil((at - Date.now()) / 1000))} s`
}, 250)
// @ts-expect-error: not a status
chat.status === 'reconnected'
chat.close(4000, 'bye')

// A parameterised pattern: any path it matches gets its types.
const room = connect(`/ws/rooms/${status}`)
room.send({ type: 'move', x: 1, y: 2 })
room.send(new Uint8Array([1, 2]))
room.send(new Blob(['x']))
// @ts-expect-error: RoomIn has no chat
room.send({ type: 'chat', room: 'general', text: 'hi' })
room.on('state', (m) => m.players.map((p) => p.x ?? 0))
room.on('*', (m: RoomOut) => (m instanceof ArrayBuffer ? m.byteLength : m.type))

// Only `sends` declared: send is unrestricted, listeners typed.
const news = connect('/ws/news')
news.send({ anything: true })
news.on('*', (m: string) => m.length)
// @ts-expect-error: string messages have no `type` to listen for
news.on('headline', () => {})

// An undeclared path: unknown both ways, so anything may be sent and listeners narrow.
const other = connect('/ws/other', { url: 'ws://127.0.0.1:8765/api/ws/other', reconnect: false })
other.send({ whatever: [1, 2, 3] })
other.send(new ArrayBuffer(8))
other.on('anything', (m) => {
  // @ts-expect-error: unknown until narrowed
  m.type
  return m
})
other.on('*', (m: unknown) => m)
connect('/ws/other', { reconnect: { minDelay: 100, maxDelay: 5000, factor: 1.5 } })
// @ts-expect-error: an unknown option
connect('/ws/other', { retries: 3 })
// @ts-expect-error: query values are strings, numbers or booleans
connect('/ws/other', { query: { tags: ['a'] } })
// A function is read at each attempt; what it returns is checked as a query is.
let session = 'first'
connect('/ws/other', { query: () => ({ token: session, n: 1 }) })
session = 'refreshed'
connect('/ws/other', { query: () => new URLSearchParams({ token: session }) })
// @ts-expect-error: what a query function returns is checked as a query
connect('/ws/other', { query: () => ({ tags: ['a'] }) })
// A query typed by an interface (no index signature) is a query too; its values are checked.
interface Seat { room: string; row: number; aisle: boolean }
declare const seat: Seat
connect('/ws/other', { query: seat })
interface Listed { room: string; tags: string[] }
declare const listed: Listed
// @ts-expect-error: an interface's values are checked as well
connect('/ws/other', { query: listed })

// A path only known at run time is undeclared too.
declare const somewhere: string
connect(somewhere).send({ any: 'thing' })

// The helper types name an endpoint's messages for the page's own functions.
const draft: Receives<'/ws/chat'> = { type: 'chat', room: 'r', text: 't' }
const fromRoom: Sends<'/ws/rooms/lobby'> = new ArrayBuffer(1)
const notDeclared: Receives<'/ws/nowhere'> = Symbol()
// The frame wsside sends for want of on_error, which generated `sends` types include.
const frame: ErrorFrame = { type: 'error', message: 'text: expected str, got int' }
export const checks: [ChatIn, RoomOut, unknown, ErrorFrame] = [draft, fromRoom, notDeclared, frame]

// Under exactOptionalPropertyTypes, an option given as `undefined` means its default, as
// the client treats it: a page can pass what it may or may not have.
declare const token: string | undefined
declare const endpoint: string | undefined
declare const floor: number | undefined
connect('/ws/chat', {
  query: token === undefined ? undefined : { token },
  url: endpoint,
  protocols: undefined,
  timeout: floor,
  reconnect: { minDelay: floor, maxDelay: undefined, factor: undefined },
}).close()
// @ts-expect-error: the handshake's timeout is in ms
connect('/ws/chat', { timeout: '20s' })
// A query value that may be undefined (or null): its key is left out until it is there.
connect('/ws/chat', { query: { token, user: null } }).close()
// @ts-expect-error: an object would go in the URL as "[object Object]" (the client throws)
connect('/ws/chat', { query: { token: { value: 'x' } } })
