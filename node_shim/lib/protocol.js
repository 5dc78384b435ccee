// The control channel's message format (see PROTOCOL.md). The sidecar's twin is
// sidecar/wsside/control.py; both must change together, with a new version number.

export const PROTOCOL_VERSION = 2

/** A control message of type `type`. */
export function message(type, fields = {}) {
  return { wsside: PROTOCOL_VERSION, type, ...fields }
}

/**
 * `msg` when it is a wsside control message of our version, null when it is something
 * else; throws (with a message for the user) on a version mismatch.
 */
export function parse(msg) {
  if (msg === null || typeof msg !== 'object' || !('wsside' in msg)) return null
  if (msg.wsside !== PROTOCOL_VERSION) {
    throw new Error(
      `wsside: control protocol mismatch: the Python sidecar speaks version ${JSON.stringify(msg.wsside)}, ` +
        `vite-plugin-wsside speaks ${PROTOCOL_VERSION}. Install matching versions of the npm ` +
        'package and the Python package (`wsside doctor` shows both).',
    )
  }
  return typeof msg.type === 'string' ? msg : null
}
