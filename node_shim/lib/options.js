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

export const KNOWN = ['prefix', 'handlers', 'config', 'python', 'env', 'preview', 'overlay', 'allowedOrigins']

/**
 * A mistake in the plugin's options. Vite prints an error's `stack` (or util.inspect of it):
 * this one's is its message alone, so that the mistake shows as one line (a line per option
 * for several leftovers of the JavaScript plugin), without a trace into vite.config and this
 * file.
 */
export class WssideOptionError extends TypeError {
  /** @param {string} message starts with `wsside: ` */
  constructor(message) {
    super(message)
    this.stack = `${this.name}: ${message}`
  }

  /** What util.inspect shows (Vite 8 prints errors so): the one line, not `[` it `]`. */
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.stack
  }
}
// On the prototype: an own `name` would be listed by util.inspect after the stack.
WssideOptionError.prototype.name = 'WssideOptionError'

/**
 * `value` as it would be written in vite.config, shortened: `42`, `"no"`, `/x/`, `an object`.
 * @param {unknown} value
 */
export function shown(value) {
  if (typeof value === 'function') return 'a function'
  if (value instanceof RegExp) return String(value)
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object' && value !== null) return 'an object'
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/**
 * How many single-character edits turn `a` into `b` (Levenshtein distance).
 * @param {string} a
 * @param {string} b
 */
function editDistance(a, b) {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[b.length]
}

/**
 * The option of `known` that `name` was probably meant to be: the same but for case, `_` or
 * `-` (`allowed_origins`), or a typo away (≤ 2 edits; 1 for short names). Null when none is close.
 * @param {string} name
 * @param {string[]} known
 */
function closestOption(name, known) {
  const plain = (/** @type {string} */ s) => s.toLowerCase().replace(/[-_]/g, '')
  let best = null
  let bestDistance = Infinity
  for (const option of known) {
    const distance = plain(name) === plain(option) ? 0 : editDistance(name.toLowerCase(), option.toLowerCase())
    if (distance < bestDistance) [best, bestDistance] = [option, distance]
  }
  return bestDistance <= (name.length < 5 ? 1 : 2) ? best : null
}

/**
 * The origin of `url` when it has one as browsers write it (lower case, no default port).
 * @param {string} url
 */
function originOf(url) {
  try {
    const { origin } = new URL(url)
    return origin === 'null' ? null : origin
  } catch {
    return null
  }
}

/**
 * Why `origin` (an allowedOrigins entry) can never equal a browser's Origin header, with the
 * origin probably meant; null when it is an origin: `scheme://host[:port]` as browsers send
 * it, or `null` (the opaque origin).
 * @param {string} origin
 * @returns {string | null}
 */
function originProblem(origin) {
  if (origin === 'null') return null
  // http(s), ws(s)...: the URL parser writes the origin; other schemes (tauri://localhost,
  // chrome-extension://id) have none there, and only their shape is checked. The Python side
  // (_runtime/origins.py) follows the same rule; tests/golden/origins.json holds the cases.
  const meant = originOf(origin) ?? (/[.:]/.test(origin) && !origin.includes('://') ? originOf(`http://${origin}`) : null)
  const special = /^(https?|wss?|ftp):\/\//i.test(origin)
  if (meant === origin || (meant === null && !special && /^[a-z][a-z\d+.-]*:\/\/[^/?#@\s]+$/.test(origin))) return null
  const problem = 'is not an origin (scheme://host[:port], nothing after)'
  return meant === null ? problem : `${problem}: did you mean ${JSON.stringify(meant)}?`
}

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
  disable: 'leave wsside() out of `plugins` to turn it off, e.g. `...(process.env.NO_WS ? [] : [wsside()])`',
  wsHandlers: 'each handler is a Handler(...) in a Python file of the handlers folder (ws/ by default)',
  logLevel: 'it is `log_level` in wsside.toml (debug, info, warning or error)',
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
function normalisePrefix(prefix) {
  if (typeof prefix !== 'string') {
    throw new WssideOptionError(`wsside: option \`prefix\` must be a string or a list of strings, got ${shown(prefix)}`)
  }
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
    throw new WssideOptionError(`wsside: option \`${name}\` must be a string, got ${shown(value)}`)
  }
  // '' would be taken as "not given", and the default used in silence.
  if (value === '') {
    throw new WssideOptionError(`wsside: option \`${name}\` is an empty string: give ${EMPTY[name]}, or leave it out`)
  }
  return value
}

/** What to give instead of an empty string. */
const EMPTY = { handlers: "a folder, such as 'ws'", config: "a file, such as 'wsside.toml'",
  python: "an interpreter, such as '.venv/bin/python' or 'python3.12'" }

/**
 * @param {WssideOptions} options
 * @param {'preview' | 'overlay'} name
 */
function booleanDefaultTrue(options, name) {
  const value = /** @type {unknown} */ (options[name]) ?? true
  if (typeof value !== 'boolean') {
    throw new WssideOptionError(`wsside: option \`${name}\` must be true or false, got ${shown(value)}`)
  }
  return value
}

/** @param {unknown} options */
export function checkObject(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new WssideOptionError(`wsside: the options must be an object such as { prefix: '/api' }, got ${shown(options)}`)
  }
}

/**
 * The plugin options with defaults. `prefixes` is null when the user gave none, so that
 * the sidecar's own configuration (wsside.toml) decides, `/api` by default.
 * The options come from JavaScript callers too, so every type is checked here.
 * @param {WssideOptions} [options]
 * @param {string[]} [known] the options the caller takes (attachWsside's are more)
 * @returns {Options}
 */
export function normaliseOptions(options = {}, known = KNOWN) {
  checkObject(options)
  const wrong = Object.keys(options).filter((name) => !known.includes(name))
  const moved = wrong.filter((name) => Object.hasOwn(MOVED, name))
  const unknown = wrong.filter((name) => !moved.includes(name))
  if (moved.length === 1 && unknown.length === 0) {
    throw new WssideOptionError(`wsside: option \`${moved[0]}\`: ${MOVED[moved[0]]}`)
  }
  if (moved.length > 0) { // a config ported from the JavaScript plugin: every leftover at once, one line each
    const lines = wrong.map((name) => {
      if (moved.includes(name)) return `option \`${name}\`: ${MOVED[name]}`
      const meant = closestOption(name, known)
      return `unknown option \`${name}\`${meant ? `; did you mean \`${meant}\`?` : ''}`
    })
    if (unknown.length > 0) lines.push(`(known: ${known.join(', ')})`)
    throw new WssideOptionError(`wsside: ${wrong.length} options to change:\n  ${lines.join('\n  ')}`)
  }
  if (unknown.length === 1) {
    const [name] = unknown
    const meant = closestOption(name, known)
    throw new WssideOptionError(`wsside: unknown option \`${name}\`${meant ? `; did you mean \`${meant}\`?` : ''} ` +
      `(known: ${known.join(', ')})`)
  }
  if (unknown.length > 1) { // all of them: fixing one at a time would take a restart each
    const named = unknown.map((name) => {
      const meant = closestOption(name, known)
      return `\`${name}\`${meant ? ` (did you mean \`${meant}\`?)` : ''}`
    })
    throw new WssideOptionError(`wsside: unknown options ${named.join(', ')} (known: ${known.join(', ')})`)
  }
  const prefix = options.prefix
  const prefixes = prefix === undefined ? null : (Array.isArray(prefix) ? prefix : [prefix]).map(normalisePrefix)
  return {
    prefixes,
    handlers: optionalString(options, 'handlers'),
    config: optionalString(options, 'config'),
    python: optionalString(options, 'python'),
    env: checkedEnv(options.env ?? {}),
    preview: booleanDefaultTrue(options, 'preview'),
    overlay: booleanDefaultTrue(options, 'overlay'),
    allowedOrigins: checkedOrigins(options.allowedOrigins ?? []),
  }
}

/**
 * @param {unknown} env the `env` option
 * @returns {Record<string, string>}
 */
function checkedEnv(env) {
  if (env === null || typeof env !== 'object' || Array.isArray(env)) {
    throw new WssideOptionError(`wsside: option \`env\` must map names to strings, such as { DEBUG: '1' }, got ${shown(env)}`)
  }
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'string') throw new WssideOptionError(`wsside: env: ${name} must be a string, got ${shown(value)}`)
  }
  return /** @type {Record<string, string>} */ (env)
}

/**
 * @param {unknown} origins the `allowedOrigins` option
 * @returns {Array<string | RegExp | null>}
 */
function checkedOrigins(origins) {
  if (!Array.isArray(origins)) {
    const example = typeof origins === 'string' ? `[${JSON.stringify(origins)}]` : "['http://devbox:5173']"
    throw new WssideOptionError(`wsside: option \`allowedOrigins\` must be a list, such as ${example}, got ${shown(origins)}`)
  }
  for (const origin of origins) {
    const problem = typeof origin === 'string' ? originProblem(origin)
      : origin === null || origin instanceof RegExp ? null
      : 'is not an origin string, a RegExp or null'
    if (problem) throw new WssideOptionError(`wsside: allowedOrigins: ${shown(origin)} ${problem}`)
  }
  return origins
}
