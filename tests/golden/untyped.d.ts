// wsside-env.d.ts: the message types of the wsside handlers in ws/, for vite-plugin-wsside/client.
// Generated from their receives= and sends=: do not edit. The Vite plugin rewrites it
// when a handler file changes; without Vite: wsside types --out wsside-env.d.ts
export {}

declare module 'vite-plugin-wsside/client' {
  // No handler declares receives= or sends= yet: every endpoint is untyped.
  interface Endpoints {}
  // Every path the handlers serve: connect() takes no other (a path only known at
  // run time, a `string`, is not checked).
  interface Paths {
    '/echo': true
  }
}
