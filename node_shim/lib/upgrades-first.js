// @ts-check
// wsside's upgrade listeners run before a server's other upgrade listeners, whatever their
// order, and an upgrade wsside took is not given to the others (takeUpgradesFirst).

import { TAKEN } from './upgrade.js'
import { respond } from './wire.js'

/** @import { IncomingMessage } from 'node:http' */
/** @import { Server } from 'node:net' */
/** @import { Duplex } from 'node:stream' */

/** @typedef {(req: IncomingMessage, socket: Duplex, head: Buffer) => unknown} UpgradeListener */
// On a server: wsside's upgrade listeners and the server's own emit (see takeUpgradesFirst).
const FIRST = Symbol.for('vite-plugin-wsside.upgrades-first')
// On a request: wsside's listeners have seen it (each copy of this module's).
const SEEN = Symbol.for('vite-plugin-wsside.upgrade-seen')
/** @typedef {(event: string | symbol, ...args: any[]) => boolean} Emit */
/**
 * @typedef {object} FirstListeners
 * @property {Set<UpgradeListener>} listeners wsside's, in the order attached
 * @property {Emit} emit the server's emit before wsside's
 * @property {boolean} own whether that emit was the server's own property (else its class's)
 * @property {Emit} installed wsside's emit (that of the first copy of this module to attach)
 */

/**
 * Adds wsside's `listener` for the upgrades of `httpServer`, run before the server's other
 * upgrade listeners, whatever their order; an upgrade wsside took (or answered) is not given
 * to them. A listener of the user's registered earlier that destroys every upgrade it does not
 * serve (`else socket.destroy()`, as in the examples of the ws package) would otherwise
 * destroy wsside's sockets too: those waiting for the sidecar (starting, or a hand-over in
 * flight), those piped (TLS), and even one handed over, when Node's write to the sidecar was
 * queued. Every other upgrade (outside the prefix, Vite's HMR socket, what server.proxy
 * forwards) reaches the other listeners untouched, as before. Returns the detach function.
 * @param {Server} httpServer
 * @param {UpgradeListener} listener
 * @returns {() => void}
 */
export function takeUpgradesFirst(httpServer, listener) {
  const server = /** @type {Server & { [FIRST]?: FirstListeners, emit: Emit }} */ (httpServer)
  let first = server[FIRST]
  // A state whose emit was put back (every wsside listener detached) is kept for a caller that
  // held on to wsside's emit, which then calls the server's; a new attachment starts anew.
  if (first === undefined || (first.listeners.size === 0 && server.emit !== first.installed)) {
    first = { listeners: new Set(), emit: server.emit, own: Object.hasOwn(server, 'emit'), installed: wssideEmit }
    server[FIRST] = first
    server.emit = wssideEmit
  }
  // Also one of the server's listeners: Node gives an upgrade to its request handlers when it
  // has none. Called by the server's own emit, it does nothing for an upgrade wsside's emit
  // gave it already; else (an emit that bypasses wsside's) it is the first listener.
  /** @type {UpgradeListener} */
  const registered = (req, socket, head) => {
    return (/** @type {IncomingMessage & { [SEEN]?: true }} */ (req))[SEEN] ? undefined : listener(req, socket, head)
  }
  first.listeners.add(listener)
  server.prependListener('upgrade', registered)
  return () => {
    server.off('upgrade', registered)
    first.listeners.delete(listener)
    if (first.listeners.size === 0 && server.emit === first.installed) {
      if (first.own) server.emit = first.emit
      else delete (/** @type {{ emit?: unknown }} */ (server)).emit
    }
  }
}

/**
 * The emit of a server wsside serves: an upgrade goes to wsside's listeners first, then, unless
 * one of them took it, to the server's emit as before (where wsside's skip it).
 * @this {Server & { [FIRST]?: FirstListeners }}
 * @param {string | symbol} event
 * @param {...any} args
 * @returns {boolean}
 */
function wssideEmit(event, ...args) {
  const first = /** @type {FirstListeners} */ (this[FIRST])
  const req = /** @type {IncomingMessage & { [SEEN]?: true, [TAKEN]?: true }} */ (args[0])
  if (event !== 'upgrade' || first.listeners.size === 0 || req[SEEN]) return first.emit.call(this, event, ...args)
  req[SEEN] = true
  for (const listener of [...first.listeners]) void listener(req, args[1], args[2])
  if (req[TAKEN]) return true
  if (this.listenerCount('upgrade') > first.listeners.size) return first.emit.call(this, event, ...args)
  // No other listener (Vite's socket server off, `server.ws: false`; the user's own server
  // with none): answered 404, so that the client fails at once (without wsside's listener,
  // Node would have given it to the request handlers, which answer it as a page). Left
  // waiting, it would hold the browser's one connecting WebSocket per host, and every wsside
  // socket of the page would queue behind it.
  respond(args[1], 404, 'Not Found')
  return true
}
