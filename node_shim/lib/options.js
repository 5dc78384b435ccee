// The plugin's options, checked and normalised once.

const KNOWN = new Set(['prefix', 'handlers', 'config', 'python', 'env', 'preview', 'allowedOrigins'])

/** `api`, `/api/` and `/api` all become `/api`; `/` and `''` mean "no prefix" (''). */
export function normalisePrefix(prefix) {
  if (typeof prefix !== 'string') throw new TypeError(`wsside: prefix must be a string, got ${typeof prefix}`)
  let p = prefix.trim()
  if (!p.startsWith('/')) p = '/' + p
  return p.replace(/\/+$/, '')
}

/** True when `pathname` is `prefix` itself or below it (on a segment boundary). */
export function underPrefix(pathname, prefixes) {
  return prefixes.some((p) => p === '' || pathname === p || pathname.startsWith(p + '/'))
}

function optionalString(options, name) {
  const value = options[name]
  if (value !== undefined && typeof value !== 'string') {
    throw new TypeError(`wsside: option \`${name}\` must be a string, got ${typeof value}`)
  }
  return value
}

/**
 * The plugin options with defaults. `prefixes` is null when the user gave none, so that
 * the sidecar's own configuration (wsside.toml) decides, `/api` by default.
 */
export function normaliseOptions(options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('wsside: options must be an object')
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) throw new TypeError(`wsside: unknown option \`${name}\` (known: ${[...KNOWN].join(', ')})`)
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
    preview: options.preview ?? true,
    allowedOrigins,
  }
}
