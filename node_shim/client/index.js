// @ts-check
// vite-plugin-wsside/client: one WebSocket to a wsside endpoint that speaks JSON, dispatches
// on `type`, queues while it is not open and reconnects on its own (also when the browser
// goes offline). No dependencies; runs in any page Vite serves and in Node 22+. index.d.ts.

/** @typedef {'connecting' | 'open' | 'reconnecting' | 'closed'} Status */
/** @typedef {{ code: number, reason: string }} CloseInfo */
/** @typedef {Record<string, string | number | boolean> | URLSearchParams} Query */

// The plugin sets this (a Vite `define`) to its first prefix; elsewhere (Node, or a page
// not built by Vite with the plugin) the sidecar's default applies.
/** @type {string} */
const PREFIX = typeof __WSSIDE_PREFIX__ === 'string' ? __WSSIDE_PREFIX__ : '/api'

// Messages sent while not open wait, up to this many; past it the caller gets an Error: a
// page sending while the server is away neither grows without bound nor loses them unsaid.
const QUEUE_LIMIT = 1000

// The longest delay setTimeout takes as given (about 24.8 days).
const MAX_TIMER = 2 ** 31 - 1

// Component code runs on the server too (SvelteKit, Nuxt, React Router render pages there),
// where a socket is no use: the way out when connect finds itself without a page.
const SSR = 'in a server-side render, connect in the browser only (in onMount, useEffect or onMounted)'

// The options connect knows. Any other own key throws, whatever its value: a name from
// another client or a typo would be ignored without a word (socket.io-client's `auth`: a
// token never sent; its `reconnection: false`: a socket that reconnects all the same).
const OPTIONS = 'query, protocols, url, timeout and reconnect'
// socket.io-client's names, with what does their job here.
/** @type {Array<[RegExp, string]>} */
const INSTEAD = [
  [/^(auth|extraHeaders)$/, 'send a token in query ({ query: () => ({ token }) }: read again at each reconnect), or in a first message'],
  [/^reconnection/, 'use reconnect (false, or { minDelay, maxDelay, factor })'],
  [/^transports$/, 'it is always a WebSocket: leave it out'],
  [/^path$/, 'the first argument is the path (below the prefix); a full address goes in url'],
]

// Closes after which the same page would be refused again (1002, 1003, 1007, 1008, 1009, and
// 4000-4999, the application's "stay away"); every other reconnects (docs/client.md's table).
/** @param {number} code */
const final = (code) => (code >= 4000 && code < 5000) || [1002, 1003, 1007, 1008, 1009].includes(code)

/**
 * Opens a WebSocket to `path` below the plugin's prefix on the page's host (or to
 * `options.url`) and keeps it open until `close()`.
 * @param {string} path
 * @param {{ query?: Query | (() => Query), protocols?: string | string[],
 *   url?: string | URL, timeout?: number,
 *   reconnect?: boolean | { minDelay?: number, maxDelay?: number, factor?: number } }} [options]
 */
export function connect(path, options = {}) {
  // Its own keys are checked (a class instance's fields, not its prototype's getters); not an
  // object (`connect(path, 'v1')`, as `new WebSocket` takes protocols): a string's characters.
  if (typeof options !== 'object' || !options || Array.isArray(options)) {
    throw new TypeError(`wsside: connect('${path}'): options is an object of ${OPTIONS}, not ${JSON.stringify(options) ?? `a ${typeof options}`}`)
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.split(/, | and /).includes(key)) {
      const instead = INSTEAD.find(([name]) => name.test(key))
      throw new TypeError(`wsside: connect('${path}'): unknown option '${key}'${instead ? `: ${instead[1]}` : ''}; the options are ${OPTIONS}`)
    }
  }
  const { query = {}, protocols, reconnect = true, timeout = 20000 } = options
  // Else `reconnect: 'false'` would reconnect (a string is true), and `{ maxdelay }` would
  // wait the default without a word.
  if (typeof reconnect !== 'boolean' && (typeof reconnect !== 'object' || !reconnect || Array.isArray(reconnect) ||
      Object.keys(reconnect).some((key) => !['minDelay', 'maxDelay', 'factor'].includes(key)))) {
    throw new TypeError(`wsside: connect('${path}'): reconnect is true, false or { minDelay, maxDelay, factor } (ms), not ${JSON.stringify(reconnect)}`)
  }
  const { minDelay = 500, maxDelay = 10000, factor = 2 } = typeof reconnect === 'object' ? reconnect : {}
  // Else every wait would be 0 (minDelay 0 or NaN, factor below 1), or a timer would fire at
  // once (setTimeout takes a delay above 2 ** 31 - 1 ms, Infinity too, as 0 or 1): a loop.
  const fits = (/** @type {number} */ ms) => ms > 0 && ms <= MAX_TIMER
  if (!(fits(minDelay) && fits(maxDelay) && maxDelay >= minDelay && factor >= 1 && fits(timeout))) {
    throw new RangeError(`wsside: connect needs 0 < minDelay <= maxDelay <= ${MAX_TIMER}, factor >= 1 and 0 < timeout <= ${MAX_TIMER} (ms); got ${JSON.stringify({ minDelay, maxDelay, factor, timeout })}`)
  }
  // Else "WebSocket is not defined", naming no way out. Without a document it may be a render
  // on the server (a component's top-level code, on Node 20), the likelier: named first.
  if (typeof WebSocket !== 'function') {
    throw new Error(`wsside: connect needs a global WebSocket: ${typeof document === 'undefined' ? `${SSR}; in a Node script, Node 22+ has one` : 'browsers and Node 22+ have one'}, Node 20 with node --experimental-websocket; in a Vitest test, the jsdom environment or a vi.mock (docs/client.md, Component tests)`)
  }
  const page = globalThis.location?.href
  // A server-side render on Node 22+ too (the full address would open a socket per render).
  if (!options.url && !page) {
    throw new Error(`wsside: connect('${path}') ran outside a page: ${SSR}; elsewhere give the full address: connect(path, { url: 'ws://host:port${PREFIX}${path}' })`)
  }
  // Else /apiws/chat, outside the prefix, which Vite leaves unanswered (a socket that stays
  // connecting, holding up the page's others to that host); a ? or # ends the path: `/ws/rooms/${id}`, id 'what?', is room 'what'.
  if (!options.url && (!path.startsWith('/') || /[?#]/.test(path))) {
    // A full address given as the path (`ws://host/api/ws/chat`) goes in `url`.
    const full = /^[a-z][a-z\d+.-]*:/i.test(path)
    throw new TypeError(`wsside: connect('${path}'): ` + (path.startsWith('/') ? 'a ? or # would end the path: give the query as { query }, a value in the path as ${encodeURIComponent(value)}' : 'the path goes below the prefix and starts with /: ' +
      (full ? `connect('/ws/chat', { url: '${path}' }), with the endpoint's pattern as the path` : `connect('/${path.replace(/^(\.\.?\/)+|[?#].*/g, '')}')`)))
  }
  const base = new URL(options.url ?? PREFIX + path, page)
  base.protocol = base.protocol.replace('http', 'ws')
  const where = base.origin + base.pathname // what errors name: no query, where tokens go
  // The address of an attempt: `query` a function is called at each one, so that a token
  // that expired while the page was away is read again for the reconnect.
  const address = () => {
    const given = typeof query === 'function' ? query() : query
    // Else a string's characters (`'a=1'`) or an array's items would each become a parameter
    // (`?0=a&1=%3D&2=1`), and the handler would not find the one it reads.
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      const what = typeof query === 'function' ? 'query() returns' : 'query is'
      throw new TypeError(`wsside: connect('${path}'): ${what} an object ({ username: 'Ada' }) or a URLSearchParams, not ${JSON.stringify(given)}`)
    }
    const next = new URL(base)
    if (given instanceof URLSearchParams) {
      given.forEach((_, key) => next.searchParams.delete(key)) // forEach: a lib without DOM.Iterable
      given.forEach((value, key) => next.searchParams.append(key, value))
    } else {
      for (const [key, value] of Object.entries(given)) {
        if (value == null) continue // undefined or null: not there yet, so no key at all
        if (!['string', 'number', 'boolean', 'bigint'].includes(typeof value)) throw new TypeError(`wsside: connect('${path}'): query.${key} is of type ${typeof value}, not a string, number or boolean`)
        next.searchParams.set(key, String(value))
      }
    }
    return next
  }
  /** @type {URL} the address of the latest attempt */
  let url = address()

  /** @type {Set<[string, (message: any) => void]>} */
  const listeners = new Set()
  // Each subscription is an entry of its own (as for `on`): a function subscribed twice is
  // called twice, each unsubscribe removing its own.
  /** @type {Set<[(status: Status, close?: CloseInfo) => void]>} */
  const watchers = new Set()
  /** @type {Array<string | BufferSource | Blob>} */
  const queue = []
  /** @type {WebSocket} */
  let ws
  /** @type {(close: CloseInfo) => void} the current socket's close, as if it came */
  let drop
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let deadline
  let attempt = 0
  let openedAt = 0
  // While close() closes the socket: Node's WebSocket fires `error` from within close()
  // during a handshake, which is no drop to reconnect from.
  let closing = false
  /** @type {number | null} */
  let retryAt = null
  /** @type {Status} */
  let status = 'connecting'

  // A watcher that changes the status (close() on 'reconnecting') has the new one told to all;
  // the watchers after it then skip the old one (no status comes back within a call).
  /** @param {Status} next @param {CloseInfo} [close] */
  const setStatus = (next, close) => {
    status = next
    emit(watchers, ([watcher]) => status === next && watcher(next, close))
  }

  // The n-th wait in a row: random between minDelay and min(maxDelay, minDelay * factor ** n)
  // ("full jitter" above a floor), so that pages dropped together do not return together.
  const wait = () => {
    const cap = Math.min(maxDelay, minDelay * factor ** ++attempt)
    const delay = minDelay + Math.random() * (cap - minDelay)
    retryAt = Date.now() + Math.round(delay) // a time as Date.now() gives it: whole ms
    timer = setTimeout(() => {
      retryAt = null
      open()
    }, delay)
  }
  // The network is gone (the browser's `offline` event): an open socket would take what the
  // page sends until TCP gives up on it, a minute or more later, the page saying open and the
  // messages lost. Dropped now: reconnecting, sends wait, and `online` soon opens again.
  const offline = () => {
    if (status !== 'open' || ws.readyState !== WebSocket.OPEN) return
    const socket = ws
    drop({ code: 1006, reason: 'the browser went offline' })
    socket.close(1000, 'the browser went offline')
  }
  // The network is back (the browser's `online` event): while waiting, the next attempt
  // comes after a first wait, not after the long one that failures while offline built up.
  const online = () => {
    if (retryAt === null) return
    clearTimeout(timer)
    attempt = 0
    wait()
  }
  // A page going into the back/forward cache: Chromium keeps its socket open there (minutes),
  // so the server counts a user who left. Closed as the page goes, opened as it comes back.
  /** @param {Event} event */
  const hide = (event) => {
    if (!(/** @type {PageTransitionEvent} */ (event).persisted) || ws.readyState > WebSocket.OPEN) return
    const socket = ws
    drop({ code: 1000, reason: 'page in the back/forward cache' })
    socket.close(1000, 'page in the back/forward cache')
  }
  /** @param {Event} event */
  const show = (event) => {
    if (!(/** @type {PageTransitionEvent} */ (event).persisted) || retryAt === null) return
    clearTimeout(timer)
    retryAt = null
    open()
  }
  /** @type {Array<[string, (event: Event) => void]>} */
  const pageEvents = [['offline', offline], ['online', online], ['pagehide', hide], ['pageshow', show]]
  /** @param {CloseInfo} [close] */
  const end = (close) => {
    clearTimeout(timer)
    clearTimeout(deadline)
    retryAt = null
    queue.length = 0
    for (const [name, listener] of pageEvents) globalThis.removeEventListener?.(name, listener)
    if (status !== 'closed') setStatus('closed', close)
  }

  const open = () => {
    if (ws) {
      try {
        url = address()
      } catch (error) {
        // The page's query function failed: said where the page's errors go, tried after a wait.
        setTimeout(() => { throw error })
        return wait()
      }
    }
    const socket = (ws = new WebSocket(url, protocols))
    socket.binaryType = 'arraybuffer'
    socket.onopen = () => {
      clearTimeout(deadline)
      openedAt = Date.now()
      // Before the watchers run, so that what they send goes after what waited.
      for (const data of queue.splice(0)) socket.send(data)
      setStatus('open')
    }
    socket.onmessage = ({ data }) => {
      // After close() (a dropped socket's handler is removed in `dropped`): the `ws` package,
      // unlike browsers and Node's WebSocket, delivers what comes while a socket closes.
      if (status === 'closed') return
      let message = data
      if (typeof data === 'string') {
        try {
          message = JSON.parse(data)
        } catch {}
      }
      const type = message?.type
      emit(listeners, ([wanted, listener]) => (wanted === '*' || wanted === type) && listener(message))
    }
    /** @param {CloseInfo} close */
    const dropped = (close) => {
      clearTimeout(deadline)
      socket.onopen = socket.onclose = socket.onerror = socket.onmessage = null
      if (status === 'closed' || closing) return
      if (!reconnect || final(close.code)) return end(close)
      // A connection that lived longer than the longest wait was healthy: start over.
      if (openedAt && Date.now() - openedAt >= maxDelay) attempt = 0
      openedAt = 0
      wait()
      if (status !== 'reconnecting') setStatus('reconnecting', close)
    }
    drop = dropped
    // A plain { code, reason }: a CloseEvent's fields are getters on its prototype, which
    // JSON.stringify, spreading and structuredClone leave out.
    socket.onclose = ({ code, reason }) => dropped({ code, reason })
    // Browsers follow a failed handshake's `error` with `close`, readyState CLOSED by then;
    // Node's WebSocket (undici 6: Node 20 and 22) fires `error` alone and stays CONNECTING.
    socket.onerror = () => socket.readyState || dropped({ code: 1006, reason: '' })
    // A handshake never answered (a stopped server, a proxy holding it, a laptop that slept)
    // would keep the page waiting minutes (Chromium: 4): after `timeout`, a failed attempt.
    deadline = setTimeout(() => {
      // First: Node's WebSocket fires `error` from within close().
      dropped({ code: 1006, reason: `no answer to the handshake in ${timeout} ms` })
      socket.close()
    }, timeout)
  }
  open()
  // Once the first WebSocket is made: when it cannot be (a subprotocol offered twice, a ws:
  // URL from an https: page), connect throws, and nothing of this client may run later.
  for (const [name, listener] of pageEvents) globalThis.addEventListener?.(name, listener)

  return {
    get status() { return status },
    get retryAt() { return retryAt },
    /** @param {unknown} message */
    send(message) {
      const data =
        typeof message === 'string' || message instanceof ArrayBuffer || ArrayBuffer.isView(message) || message instanceof Blob
          ? /** @type {string | BufferSource | Blob} */ (message)
          : JSON.stringify(message)
      if (data === undefined) throw new TypeError(`wsside: cannot send ${typeof message}`)
      if (status === 'closed') throw new Error(`wsside: ${where} is closed; message not sent`)
      if (ws.readyState === WebSocket.OPEN) return ws.send(data)
      // Also while the server's close is under way (status still 'open'): a WebSocket that
      // is closing drops what it is given without a word; the next connection sends it.
      if (queue.length >= QUEUE_LIMIT) throw new Error(`wsside: ${QUEUE_LIMIT} messages already wait for ${where} to open; message not sent`)
      // A copy: a page may fill the buffer again for its next message (a game loop does), and
      // a WebSocket's own send takes the bytes at the call.
      queue.push(
        data instanceof ArrayBuffer
          ? data.slice(0)
          : ArrayBuffer.isView(data)
            ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
            : data,
      )
    },
    /** @param {string} type @param {(message: any) => void} listener */
    on(type, listener) {
      /** @type {[string, (message: any) => void]} */
      const entry = [type, listener]
      listeners.add(entry)
      return () => void listeners.delete(entry)
    },
    /** @param {(status: Status, close?: CloseInfo) => void} watcher */
    onStatus(watcher) {
      /** @type {[(status: Status, close?: CloseInfo) => void]} */
      const entry = [watcher]
      watchers.add(entry)
      return () => void watchers.delete(entry)
    },
    /** @param {number} [code] @param {string} [reason] */
    close(code = 1000, reason) {
      closing = true
      try {
        // 1000 unless told: a bare WebSocket.close() sends no code, which the server's
        // on_close sees as 1005 No Status, not as the page leaving normally.
        ws.close(code, reason) // throws for a code or reason it refuses, closing nothing
      } finally {
        closing = false
      }
      end()
    },
  }
}

/**
 * Calls `call` for each member of `set`; one that throws does not keep the others from
 * their turn, and its error is rethrown where the page reports uncaught errors. As with
 * addEventListener, members added meanwhile wait for the next event (a listener that
 * subscribes again from its own call would otherwise run again, without end), and members
 * removed meanwhile are not called.
 * @template T @param {Set<T>} set @param {(member: T) => unknown} call
 */
function emit(set, call) {
  for (const member of [...set]) {
    if (!set.has(member)) continue
    try {
      call(member)
    } catch (error) {
      queueMicrotask(() => { throw error })
    }
  }
}
