// Written by hand in the shape that the generator emits (docs/client.md): a module (the
// import makes it one) augmenting the client's Endpoints, keys seen from the server.
import type { Binary } from 'vite-plugin-wsside/client'

export type ChatIn =
  | { type: 'chat'; room: string; text: string }
  | { type: 'join-room'; room: string }
export type ChatOut =
  | { type: 'chat-message'; from: string; text: string; room: string }
  | { type: 'user-joined'; username: string; room: string }
  | { type: 'error'; message: string }

export type RoomIn = { type: 'move'; x: number; y: number } | Binary
export type RoomOut = { type: 'state'; players: { name: string; x?: number }[] } | ArrayBuffer

declare module 'vite-plugin-wsside/client' {
  interface Endpoints {
    '/ws/chat': { receives: ChatIn; sends: ChatOut }
    [path: `/ws/rooms/${string}`]: { receives: RoomIn; sends: RoomOut }
    '/ws/news': { sends: string }
  }
}
