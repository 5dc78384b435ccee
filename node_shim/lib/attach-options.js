// @ts-check
// attachWsside's options: the plugin's (lib/options.js), and what a Vite server would give the
// plugin, each checked when attachWsside is called.

import { statSync } from 'node:fs'
import path from 'node:path'
import { checkObject, KNOWN, normaliseOptions, shown, WssideOptionError } from './options.js'

/** @import { AttachOptions } from '../index.js' */
/** @import { Logger } from './report.js' */
/** @import { Options } from './options.js' */

// What attachWsside takes besides: what a Vite server would give the shim.
const ATTACH_KNOWN = [...KNOWN, 'root', 'logger', 'allowedHosts']

/**
 * attachWsside's options: the plugin's, and what a Vite server gives the plugin, each checked
 * now (a wrong one would fail only at the first upgrade, inside the user's server): `root`
 * (a folder, default the current one), `logger` (default `fallbackLogger`) and `allowedHosts`
 * (what Vite's server.allowedHosts takes: true or a list of host names; default none).
 * @param {AttachOptions | undefined} options
 * @param {Logger} fallbackLogger
 * @returns {{ options: Options, root: string, logger: Logger, allowedHosts: string[] | true }}
 */
export function normaliseAttachOptions(options = {}, fallbackLogger) {
  checkObject(options)
  const { root, logger, allowedHosts, ...rest } = options
  return {
    options: normaliseOptions(rest, ATTACH_KNOWN),
    root: checkedRoot(root),
    logger: checkedLogger(logger ?? fallbackLogger),
    allowedHosts: checkedHosts(allowedHosts ?? []),
  }
}

/**
 * @param {unknown} root the `root` option
 * @returns {string} the folder, absolute
 */
function checkedRoot(root = process.cwd()) {
  if (typeof root !== 'string' || root === '') {
    throw new WssideOptionError('wsside: option `root` must be the path of the folder holding ws/ (and .venv), ' +
      `got ${shown(root)}`)
  }
  const folder = path.resolve(root)
  const named = folder === root ? JSON.stringify(root) : `${JSON.stringify(root)} (${folder})`
  /** @type {import('node:fs').Stats | undefined} */
  const stats = statSync(folder, { throwIfNoEntry: false })
  if (stats === undefined) throw new WssideOptionError(`wsside: option \`root\`: ${named} does not exist`)
  if (!stats.isDirectory()) throw new WssideOptionError(`wsside: option \`root\`: ${named} is not a folder`)
  return folder
}

/**
 * @param {unknown} logger the `logger` option
 * @returns {Logger}
 */
function checkedLogger(logger) {
  const methods = ['info', 'warn', 'error']
  const missing = typeof logger === 'object' && logger !== null
    ? methods.filter((name) => typeof (/** @type {Record<string, unknown>} */ (logger))[name] !== 'function')
    : methods
  if (missing.length === 0) return /** @type {Logger} */ (logger)
  const without = missing.length < methods.length ? ` without ${missing.join(', ')}` : ''
  throw new WssideOptionError('wsside: option `logger` must have info, warn and error methods, such as console, ' +
    `got ${shown(logger)}${without}`)
}

/**
 * @param {unknown} hosts the `allowedHosts` option
 * @returns {string[] | true}
 */
function checkedHosts(hosts) {
  if (hosts === true) return true
  if (!Array.isArray(hosts)) {
    const example = typeof hosts === 'string' ? `[${JSON.stringify(hosts)}]` : "['devbox', '.example.test']"
    throw new WssideOptionError('wsside: option `allowedHosts` must be true or a list of host names, ' +
      `such as ${example}, got ${shown(hosts)}`)
  }
  for (const host of hosts) {
    if (typeof host !== 'string') throw new WssideOptionError(`wsside: allowedHosts: ${shown(host)} is not a host name string`)
  }
  return hosts
}
