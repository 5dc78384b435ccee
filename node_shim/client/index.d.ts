/**
 * The message types of each wsside endpoint, by path below the prefix. Empty here: the
 * `wsside-env.d.ts` that the plugin writes (or `wsside types --out FILE`) adds one entry per
 * handler that declares `receives`/`sends`, seen from the server:
 *
 *     declare module 'vite-plugin-wsside/client' {
 *       interface Endpoints {
 *         '/ws/chat': { receives: ChatIn; sends: ChatOut }
 *         [path: `/ws/rooms/${string}`]: { receives: RoomIn; sends: RoomOut }
 *       }
 *     }
 *
 * The contract, for the generator and for hand-written entries: docs/client.md.
 */
export interface Endpoints {}

/**
 * Every path the project's handlers serve, below the prefix, declared types or not. Empty
 * here, where `connect` takes any path; the generated `wsside-env.d.ts` lists them all
 * (`'/ws/chat': true`, `` [path: `/ws/rooms/${string}`]: true ``), and `connect` then
 * takes only those, so that a path no handler serves is an editor error.
 */
export interface Paths {}

/**
 * `P` where `connect` takes it: a path in `Paths`, any path while `Paths` is empty, and a
 * path only known at run time (`string`); else what `Paths` lists, which TypeScript's error
 * names.
 */
export type ServedPath<P extends string> = string extends P
  ? P
  : [keyof Paths] extends [never]
    ? P
    : P extends keyof Paths
      ? P
      : keyof Paths & string

/** What the server receives at `P`, so what `send` accepts; `unknown` when undeclared. */
export type Receives<P extends string> = Field<EndpointOf<P>, 'receives'>

/** What the server sends at `P`, so what listeners get; `unknown` when undeclared. */
export type Sends<P extends string> = Field<EndpointOf<P>, 'sends'>

type EndpointOf<P extends string> = P extends keyof Endpoints ? Endpoints[P] : unknown
type Field<E, K extends string> = E extends { [key in K]: infer V } ? V : unknown

/** Binary data `send` accepts; received binary messages are `ArrayBuffer`s. */
export type Binary = BufferSource | Blob

/**
 * What a handler without `on_error` sends when a message does not fit its `receives=`, or
 * when one of its callbacks raised; part of every `sends` that does not admit it already and
 * is not all bytes, str and string literals (a binary or plain-text protocol gets none).
 */
export interface ErrorFrame {
  type: 'error'
  message: string
}

/** The `type` values carried by the members of `M`. */
export type TypeOf<M> = M extends { type: infer T extends string } ? T : never

/** The members of `M` whose `type` field admits `T`. */
export type OfType<M, T extends string> = M extends { type: infer U } ? (T extends U ? M : never) : never

export type Status = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** The close that led to a status, when a socket closed. */
export interface CloseInfo {
  readonly code: number
  readonly reason: string
}

// Each option may also be given as `undefined`, which means the default (so that a project
// with `exactOptionalPropertyTypes` can pass `{ url: maybeUrl }`).
// connect throws a RangeError unless 0 < minDelay <= maxDelay <= 2 ** 31 - 1, factor >= 1 and
// 0 < timeout <= 2 ** 31 - 1 (ms; setTimeout takes a longer delay as 0 or 1).
export interface ReconnectOptions {
  /** Shortest wait before an attempt, in ms. Default 500. */
  minDelay?: number | undefined
  /** Longest wait before an attempt, in ms. Default 10000. */
  maxDelay?: number | undefined
  /**
   * Growth per failed attempt. Default 2: the n-th wait is random between `minDelay`
   * and `min(maxDelay, minDelay * factor ** n)`.
   */
  factor?: number | undefined
}

/**
 * A query's values: each goes in the URL as `String(value)`; `undefined` and `null` leave
 * their key out (a token not there yet is no token, not the text "undefined").
 */
export type QueryValue = string | number | boolean | null | undefined

/**
 * `Q`: the query's type, any object whose values are `QueryValue`s (an `interface` too,
 * which a `Record` with an index signature would refuse).
 */
export interface ConnectOptions<Q extends { [K in keyof Q]: QueryValue } = Record<string, QueryValue>> {
  /**
   * Added to the URL's query string (`{ username: 'Ada' }` → `?username=Ada`); a
   * `URLSearchParams` keeps its repeated keys. A function is called at each attempt, the
   * reconnects' too (`() => ({ token: currentToken() })`: a token refreshed meanwhile goes).
   */
  query?: Q | URLSearchParams | (() => Q | URLSearchParams) | undefined
  /** Subprotocols offered, in order of preference. */
  protocols?: string | string[] | undefined
  /**
   * The endpoint's full URL, used instead of the page's host, the prefix and `path` (which
   * then only picks the types). Needed outside a page, e.g. in Node.
   */
  url?: string | URL | undefined
  /**
   * How long a handshake may take, in ms (default 20000): an attempt not answered by then is
   * given up and counts as a close with 1006, reconnected after like any other.
   */
  timeout?: number | undefined
  /** Reconnect after a close that `close()` did not ask for. Default true. */
  reconnect?: boolean | ReconnectOptions | undefined
}

/** A connection that `connect` keeps open: `Sent` is what the page sends, `Received` what it gets. */
export interface Socket<Sent = unknown, Received = unknown> {
  readonly status: Status
  /**
   * While `status` is `'reconnecting'` and the client waits: when its next attempt starts,
   * in `Date.now()` time (for "reconnecting in 3 s"). `null` during an attempt, while open,
   * and once closed.
   */
  readonly retryAt: number | null
  /**
   * Objects, arrays, numbers, booleans and null go as JSON text, strings as text, binary
   * data as binary. While not open, up to 1000 messages wait and go in order once open
   * (binary data as it was at the call: a copy); one more throws. Throws once the socket is
   * closed for good.
   */
  send(message: Sent): void
  /** Every message: JSON text parsed, other text as a string, binary as an `ArrayBuffer`. */
  on(type: '*', listener: (message: Received) => void): () => void
  /** Each message whose `type` field is `type`. Returns a function that unsubscribes. */
  on<T extends unknown extends Received ? string : TypeOf<Received>>(
    type: T,
    listener: (message: unknown extends Received ? unknown : OfType<Received, T>) => void,
  ): () => void
  /** Each change of `status` from now on (not the current one, which `status` says:
   * `'connecting'` at first); `close` is the socket's close that caused it, if any. */
  onStatus(listener: (status: Status, close?: CloseInfo) => void): () => void
  /** Closes the socket for good, with `code` 1000 unless given: no reconnecting; messages
   * still waiting are dropped. */
  close(code?: number, reason?: string): void
}

/**
 * A WebSocket to `path` below the plugin's prefix on the page's host
 * (`connect('/ws/chat')` → `ws://localhost:5173/api/ws/chat`; without `options.url`, a
 * `path` that does not start with `/`, or holds a `?` or `#`, throws a `TypeError`: the query
 * goes in `options.query`, a value in the path through `encodeURIComponent`), or to `options.url`,
 * reconnecting with backoff after any close that `close()` did not ask for, except after
 * 1002, 1003, 1007, 1008, 1009 and 4000–4999 (the application's own "stay away").
 * With the generated `wsside-env.d.ts`, `path` is one its handlers serve (`Paths`; the query
 * goes in `options.query`).
 * In a component, call it in the browser only (`onMount`, `useEffect`, `onMounted`): in a
 * server-side render, where there is no page, it throws.
 */
export function connect<P extends string, Q extends { [K in keyof Q]: QueryValue } = Record<string, QueryValue>>(
  path: ServedPath<P>,
  options?: ConnectOptions<Q>,
): Socket<Receives<P>, Sends<P>>
