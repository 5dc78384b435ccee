// A page names an endpoint's types by importing its namespace from the generated file (a
// type-only import: nothing of it reaches the bundle). Each namespace is named after its
// pattern: /ws/chat is WsChat, /ws/board is WsBoard, /ws/rooms/{room} is WsRooms.
import type { WsBoard, WsChat, WsRooms } from './wsside-env'

export const line: WsChat.ChatIn = { type: 'chat', text: 'hi' }
export const sent: WsChat.Receives = { type: 'typing' }
export const byline = (m: WsChat.ChatMessage): string => `${m.author.name}: ${m.text}`
// A type used only inside a message, by its class's name.
export const profile: WsBoard.Profile = { name: 'Ada', color: 'red' }
export const players: WsRooms.Sends | null = null
// @ts-expect-error: a profile's name is a string
export const nameless: WsBoard.Profile = { name: 1 }
// @ts-expect-error: the chat endpoint declares no Profile
export type Elsewhere = WsChat.Profile
