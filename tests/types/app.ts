// Uses of vite-plugin-wsside/client against the wsside-env.d.ts generated from ws/chat.py:
// every line without a mark must type-check, every line after `@ts-expect-error` must not.
import { connect, type OfType, type Receives, type Sends } from 'vite-plugin-wsside/client'

const chat = connect('/ws/chat')
chat.send({ type: 'chat', text: 'hi' })
chat.send({ type: 'chat', text: 'hi', reply_to: 3 })
chat.send({ type: 'chat', text: 'hi', reply_to: null })
// Under exactOptionalPropertyTypes too: JSON.stringify leaves an undefined key out.
declare const maybeId: number | undefined
chat.send({ type: 'chat', text: 'hi', reply_to: maybeId })
chat.send({ type: 'typing' })
// @ts-expect-error: text must be a string
chat.send({ type: 'chat', text: 1 })
// @ts-expect-error: text is required
chat.send({ type: 'chat' })
// @ts-expect-error: no such message type
chat.send({ type: 'shout', text: 'hi' })
// @ts-expect-error: the server receives no plain text here
chat.send('hello')

chat.on('chat-message', (m) => {
  const name: string = m.author.name
  const text: string = m.text
  void name, text
})
chat.on('joined', (m) => {
  const who: string = m.who
  const at: number | undefined = m.at
  // @ts-expect-error: a joined message has no text
  void m.text
  void who, at
})
// @ts-expect-error: the server never sends this type
chat.on('chat', () => {})
// Without on_error, wsside answers a message that does not fit receives= (or a callback
// that raised) with an error frame: a member of what the page gets.
chat.on('error', (m) => {
  const message: string = m.message
  void message
})

const room = connect(`/ws/rooms/${'lobby'}`)
room.send({ type: 'move', x: 1, y: 2 })
room.send(new Uint8Array([1, 2]))
// @ts-expect-error: y is missing
room.send({ type: 'move', x: 1 })
// @ts-expect-error: with on_error, the server sends no error frame of its own
room.on('error', () => {})
room.on('state', (m) => {
  const firsts: number[] = Object.values(m.players).map((p) => p[0] ?? 0)
  void firsts
})

// With transform_raw_data, what the page sends is the transform's input: untyped.
const points = connect('/ws/points')
points.send('1,2')
points.on('*', (m) => ('x' in m ? m.x : m.message))

// Every path served is listed, typed or not: a path no handler serves is an error that
// names the ones there are; one built at run time is checked by its template, one only known
// as a string is not checked.
// @ts-expect-error: no handler serves /ws/caht
connect('/ws/caht')
// @ts-expect-error: nor this one, below a pattern of another shape
connect('/ws/room/lobby')
declare const roomId: string
connect(`/ws/rooms/${roomId}`).send({ type: 'move', x: 1, y: 2 })
declare const anyPath: string
connect(anyPath).send('untyped')

// Undeclared endpoints stay untyped.
const echo = connect('/ws/echo')
echo.send({ anything: [1, 'two'] })
echo.send('text')
echo.on('whatever', (m) => void m)

// Types from a helper module: enums, total=False, a key named `from`.
const board = connect('/ws/board')
board.send({ type: 'red', cells: { a1: [1, null] } })
board.send({ type: 'blue', cells: {} })
// @ts-expect-error: not a Color
board.send({ type: 'green', cells: {} })
// @ts-expect-error: a cell is an int or None
board.send({ type: 'red', cells: { a1: ['x'] } })
board.on('said', (m) => {
  const name: string = m.from.name
  const level: 1 | 2 = m.level
  const color: 'red' | 'blue' | undefined = m.from.color
  // Under noUncheckedIndexedAccess an item of a list may be missing.
  const first: string | undefined = m.from.tags?.[0]
  // @ts-expect-error: the name is required, so never undefined
  m.from.name = undefined
  // @ts-expect-error: exactOptionalPropertyTypes: an absent key is not a key set to undefined
  m.from.color = undefined
  void name, level, color, first
})

// A page's own functions name an endpoint's types through the client's helpers, or by
// importing its namespace (named.ts; docs/types.md, "Naming a message type in the page").
export type ChatMessage = OfType<Sends<'/ws/chat'>, 'chat-message'>
export type Author = ChatMessage['author']
export type Scores = OfType<Sends<`/ws/rooms/${string}`>, 'state'>['players'][string]
export const byline = (m: ChatMessage, author: Author): string => `${author.name}: ${m.text}`
export const scores: Scores = [1, 2]
const typing: Receives<'/ws/chat'> = { type: 'typing' }
chat.send(typing)
// @ts-expect-error: an author's name is a string
export const nameless: Author = { name: 1 }
// @ts-expect-error: the endpoint's namespace is not global: it is imported (named.ts)
export type Hidden = WsChat.ChatIn
