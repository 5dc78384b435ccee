// @ts-check
// The control channel's message format (see PROTOCOL.md). The sidecar's twin is
// sidecar/wsside/_edge/control.py; both must change together, with a new version number.

export const PROTOCOL_VERSION = 2

/**
 * A control message's envelope; the fields of its type come beside these.
 * @typedef {{ wsside: number, type: string }} ControlMessage
 */

/**
 * One endpoint of the sidecar's table.
 * @typedef {object} HandlerInfo
 * @property {string} pattern
 * @property {string} path the URL path under the first prefix
 * @property {string} file
 * @property {number} line
 * @property {boolean} disabled
 * @property {boolean} has_variables
 */

/**
 * @typedef {{ type: 'ready', pid: number, protocol: number, version: string, python: string,
 *   prefixes: string[], socket: string, handlers: HandlerInfo[], unloaded?: string[], types?: string }} ReadyMessage
 * @typedef {{ type: 'load_error' | 'runtime_error' | 'config_error', file?: string | null,
 *   line?: number | null, column?: number | null, message: string, traceback?: string | null,
 *   callback?: string | null, source?: string, sources?: string[] }} ErrorEvent
 * @typedef {ControlMessage & (ReadyMessage
 *   | { type: 'reloaded', file: string, patterns?: string[], ms?: number, new?: boolean, because?: string[],
 *       handlers?: HandlerInfo[], types?: string }
 *   | { type: 'loaded', file: string }
 *   | { type: 'importing', file: string }
 *   | { type: 'removed', file: string, handlers?: HandlerInfo[], types?: string }
 *   | { type: 'endpoints', handlers: HandlerInfo[], types?: string }
 *   | { type: 'config_ok', file: string }
 *   | ErrorEvent
 *   | { type: 'log', level: string, message: string }
 *   | { type: 'stall', message: string, advice?: string, seconds: number, file: string, line: number,
 *       function: string, traceback: string }
 *   | { type: 'protocol_error', message: string })} SidecarEvent
 * What the sidecar sends, by `type` (PROTOCOL.md); the shim only debug-logs other types.
 */

/**
 * A control message of type `type`.
 * @param {string} type
 * @param {Record<string, unknown>} [fields]
 * @returns {ControlMessage & Record<string, unknown>}
 */
export function message(type, fields = {}) {
  return { wsside: PROTOCOL_VERSION, type, ...fields }
}

/**
 * `msg` when it is a wsside control message of our version, null when it is something
 * else; throws (with a message for the user) on a version mismatch.
 * @param {unknown} msg
 * @returns {ControlMessage | null}
 */
export function parse(msg) {
  if (msg === null || typeof msg !== 'object' || !('wsside' in msg)) return null
  if (msg.wsside !== PROTOCOL_VERSION) {
    throw new Error(
      `control protocol mismatch: the Python sidecar speaks version ${JSON.stringify(msg.wsside)}, ` +
        `vite-plugin-wsside speaks ${PROTOCOL_VERSION}. Install matching versions of the npm ` +
        'package and the Python package (`wsside doctor` shows both).',
    )
  }
  return 'type' in msg && typeof msg.type === 'string' ? /** @type {ControlMessage} */ (msg) : null
}
