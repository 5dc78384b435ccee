// @ts-check
// The plugin's options, checked and normalised once.

/** @import { WssideOptions } from '../index.js' */

/**
 * The options as the shim uses them.
 * @typedef {object} Options
 * @property {string[] | null} prefixes null: the user gave none, the sidecar's config decides
 * @property {string | undefined} handlers
 * @property {string | undefined} config
 * @property {string | undefined} python
 * @property {Record<string, string>} env
 * @property {boolean} preview
 * @property {boolean} overlay
 * @property {Array<string | RegExp | null>} allowedOrigins
 */

const KNOWN = new Set(['prefix', 'handlers', 'config', 'python', 'env', 'preview', 'overlay', 'allowedOrigins'])

/**
 * Where a handler option given to the plugin goes instead.
 * @param {string} name its Python name
 * @param {string} [unit] e.g. ' (seconds)'
 */
const handlerOption = (name, unit = '') =>
  `a handler option: ${name}= in Handler(...) in Python, or ${name} under [defaults] in wsside.toml${unit}`
/** @param {string} name its Python name, an option [defaults] does not take */
const ownOption = (name) => `a handler option: ${name}= in Handler(...) in Python`

// Options of the JavaScript plugin wsside replaces (and handler options put here by habit):
// where each one lives now.
/** @type {Record<string, string>} */
const MOVED = {
  endpointPrefix: 'it is `prefix` here',
  enablePreview: 'it is `preview` here',
  enableWs: 'not needed: WebSockets under the prefix are what this plugin serves',
  wsHandlers: 'each handler is a Handler(...) in a Python file of the handlers folder (ws/ by default)',
  heartbeat: handlerOption('heartbeat', ' (seconds)'),
  inactivityTimeout: handlerOption('inactivity_timeout', ' (seconds)'),
  delay: handlerOption('delay', ' (seconds)'),
  maxPayload: handlerOption('max_message_size', ' (bytes)'),
  perMessageDeflate: handlerOption('per_message_deflate'),
  subprotocols: handlerOption('subprotocols'),
  defaultRoom: ownOption('default_room'),
  authenticate: ownOption('authenticate'),
}

/**
 * `api`, `/api/` and `/api` all become `/api`; `/` and `''` mean "no prefix" ('').
 * @param {unknown} prefix
 */
export function normalisePrefix(prefix) {
  if (typeof prefix !== 'string') throw new TypeError(`wsside: prefix must be a string, got ${typeof prefix}`)
  let p = prefix.trim()
  if (!p.startsWith('/')) p = '/' + p
  return p.replace(/\/+$/, '')
}

/**
 * True when `pathname` is `prefix` itself or below it (on a segment boundary).
 * @param {string} pathname
 * @param {string[]} prefixes
 */
export function underPrefix(pathname, prefixes) {
  return prefixes.some((p) => p === '' || pathname === p || pathname.startsWith(p + '/'))
}

/**
 * @param {WssideOptions} options
 * @param {'handlers' | 'config' | 'python'} name
 * @returns {string | undefined}
 */
function optionalString(options, name) {
  const value = /** @type {unknown} */ (options[name])
  if (value !== undefined && typeof value !== 'string') {
    throw new TypeError(`wsside: option \`${name}\` must be a string, got ${typeof value}`)
  }
  return value
}

/**
 * @param {WssideOptions} options
 * @param {'preview' | 'overlay'} name
 */
function booleanDefaultTrue(options, name) {
  const value = /** @type {unknown} */ (options[name]) ?? true
  if (typeof value !== 'boolean') {
    throw new TypeError(`wsside: option \`${name}\` must be true or false, got ${typeof value}`)
  }
  return value
}

/**
 * The plugin options with defaults. `prefixes` is null when the user gave none, so that
 * the sidecar's own configuration (wsside.toml) decides, `/api` by default.
 * The options come from JavaScript callers too, so every type is checked here.
 * @param {WssideOptions} [options]
 * @returns {Options}
 */
export function normaliseOptions(options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('wsside: options must be an object')
  for (const name of Object.keys(options)) {
    if (KNOWN.has(name)) continue
    if (Object.hasOwn(MOVED, name)) throw new TypeError(`wsside: option \`${name}\`: ${MOVED[name]}`)
    throw new TypeError(`wsside: unknown option \`${name}\` (known: ${[...KNOWN].join(', ')})`)
  }
  const prefix = options.prefix
  const prefixes = prefix === undefined ? null : (Array.isArray(prefix) ? prefix : [prefix]).map(normalisePrefix)
  const env = options.env ?? {}
  if (typeof env !== 'object' || Object.values(env).some((v) => typeof v !== 'string')) {
    throw new TypeError('wsside: option `env` must map names to strings')
  }
  const allowedOrigins = options.allowedOrigins ?? []
  if (!Array.isArray(allowedOrigins) || allowedOrigins.some((o) => o !== null && typeof o !== 'string' && !(o instanceof RegExp))) {
    throw new TypeError('wsside: option `allowedOrigins` must be a list of origin strings, RegExps or null')
  }
  return {
    prefixes,
    handlers: optionalString(options, 'handlers'),
    config: optionalString(options, 'config'),
    python: optionalString(options, 'python'),
    env,
    preview: booleanDefaultTrue(options, 'preview'),
    overlay: booleanDefaultTrue(options, 'overlay'),
    allowedOrigins,
  }
}
