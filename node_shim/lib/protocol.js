// @ts-check
// The control channel's message format (see PROTOCOL.md). The sidecar's twin is
// sidecar/wsside/_edge/control.py; both must change together, with a new version number.
// Also what the two packages' versions must agree on: the same release line (major.minor).

import { readFileSync } from 'node:fs'
import { pipInstall, shellQuote } from './why-no-wsside.js'

export const PROTOCOL_VERSION = 2

/** @type {{ version: string, peerDependencies: { vite: string } }} this package's, as it ships */
const PACKAGE = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
/** This package's version (vite-plugin-wsside). */
export const PLUGIN_VERSION = PACKAGE.version
/** The Vite versions it supports: its peer range. */
export const VITE_RANGE = PACKAGE.peerDependencies.vite

/**
 * The release line (major.minor) of a version of either package, whatever follows its
 * major.minor.patch: a semver tag (`0.2.0-rc.1`) or a PEP 440 one (`0.1.0.post1`, `0.2.0rc1`,
 * `0.1.0.dev0`); undefined when it does not start with major.minor.patch. `wsside doctor`
 * reads it the same way (doctor/semver.py).
 * @param {string} version
 */
export function releaseLine(version) {
  return /^(\d+)\.(\d+)\./.exec(version)?.slice(1, 3).join('.')
}


/**
 * What installs matching versions, as `wsside doctor`'s shim check says it: the plugin of
 * wsside's release line, as npm reads a range (`~0.2.0`; from `-0` for a pre-release, whose
 * line may have only pre-releases yet, which npm otherwise skips), or the wsside of the
 * plugin's line into `python` (`wsside==0.1.*`, any 0.1 release to pip).
 * @param {string} wsside
 * @param {string} python the interpreter the sidecar runs
 */
function match(wsside, python) {
  const theirs = releaseLine(wsside)
  const prerelease = /^\d+\.\d+\.\d+(?:-|(?:a|b|rc)\d|.*\.dev\d*$)/.test(wsside)
  const npm = theirs === undefined ? `vite-plugin-wsside@${wsside}` : `vite-plugin-wsside@~${theirs}.0${prerelease ? '-0' : ''}`
  const ours = releaseLine(PLUGIN_VERSION)
  const pip = ours === undefined ? `wsside==${PLUGIN_VERSION}` : `wsside==${ours}.*`
  return `npm install -D ${shellQuote(npm)}, or ${pipInstall(python, shellQuote(pip))}`
}

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
 *   prefixes: string[], socket: string, handlers: HandlerInfo[], unloaded?: string[], types?: string,
 *   backplane?: string }} ReadyMessage
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
 *   | { type: 'draining' }
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

/** A message of the sidecar in another version of the protocol (see mismatchMessage). */
export class ProtocolMismatch extends Error {
  /**
   * @param {unknown} theirs the version the sidecar speaks
   * @param {string | null} version its wsside version, when the message says it (a `ready`)
   */
  constructor(theirs, version) {
    super(`control protocol mismatch: the Python sidecar speaks version ${JSON.stringify(theirs)}, ` +
      `vite-plugin-wsside ${PLUGIN_VERSION} speaks ${PROTOCOL_VERSION}`)
    this.theirs = theirs
    this.version = version
  }
}

/**
 * What the terminal and the overlay say of a sidecar that speaks protocol `theirs`, of
 * wsside `version` (null: not known), run by `python`, and how to match the two packages
 * (lib/exits.js adds what starts it again after each install).
 * @param {unknown} theirs
 * @param {string | null} version
 * @param {string} python
 */
export function mismatchMessage(theirs, version, python) {
  return `control protocol mismatch: the Python sidecar (wsside ${version ?? 'of an unknown version'}) speaks ` +
    `version ${JSON.stringify(theirs)}, vite-plugin-wsside ${PLUGIN_VERSION} speaks ${PROTOCOL_VERSION}. Install ` +
    `matching versions of the npm package and the Python package (\`wsside doctor\` shows both): ` +
    `${match(version ?? '<the version of wsside>', python)}.`
}

/**
 * The line to warn with when the sidecar's wsside (`version`, run by `python`) is of another
 * release line (major.minor) than this package, null when they match (or a version cannot be
 * read).
 * @param {string} version
 * @param {string} python
 * @returns {string | null}
 */
export function releaseLineSkew(version, python) {
  const theirs = releaseLine(version)
  const ours = releaseLine(PLUGIN_VERSION)
  if (theirs === undefined || ours === undefined || theirs === ours) return null
  return `wsside ${version} (the Python package) and vite-plugin-wsside ${PLUGIN_VERSION} (the npm package) ` +
    `are of different release lines: install matching versions: ${match(version, python)}; then restart Vite ` +
    '(`wsside doctor` shows both)'
}

/**
 * `msg` when it is a wsside control message of our version, null when it is something
 * else; throws a ProtocolMismatch (with a message for the user) on a version mismatch.
 * @param {unknown} msg
 * @returns {ControlMessage | null}
 */
export function parse(msg) {
  if (msg === null || typeof msg !== 'object' || !('wsside' in msg)) return null
  if (msg.wsside !== PROTOCOL_VERSION) {
    // A `ready` says its wsside version (every protocol version so far has it).
    const version = 'version' in msg && typeof msg.version === 'string' ? msg.version : null
    throw new ProtocolMismatch(msg.wsside, version)
  }
  return 'type' in msg && typeof msg.type === 'string' ? /** @type {ControlMessage} */ (msg) : null
}
