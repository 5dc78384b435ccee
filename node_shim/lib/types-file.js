// @ts-check
// wsside-env.d.ts: the endpoints' message types as TypeScript, for the editor and tsc. The
// sidecar sends the whole text with `ready`, and with a batch of reloads' last `reloaded`,
// `removed` or `endpoints` message (PROTOCOL.md); it is
// written beside vite.config only when it differs from the file there, so a reload that
// changes no type writes nothing (no churn for editors, nothing new for Vite's watcher).

import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/** @import { Reporter } from './report.js' */

export const TYPES_FILE = 'wsside-env.d.ts'

/** The last text a sidecar sent for each root: what a deleted file is written back with. */
const lastText = new Map()

/**
 * Writes `text` to `wsside-env.d.ts` in `root` unless the file already holds exactly that.
 * `text` is the `types` field of a sidecar message: a sidecar without it (an older one) leaves
 * the file alone. A file that cannot be written is a warning, never a crash of the dev server.
 * @param {string} root the folder of vite.config
 * @param {unknown} text
 * @param {Reporter} reporter
 * @returns {boolean} whether the file was written
 */
export function syncTypesFile(root, text, reporter) {
  if (typeof text !== 'string') return false
  lastText.set(root, text)
  const file = path.join(root, TYPES_FILE)
  try {
    if (readFileSync(file, 'utf8') === text) return false
  } catch {
    // not written yet (or unreadable: writing says which)
  }
  try {
    writeFileSync(file, text)
  } catch (err) {
    reporter.warn(`could not write ${file}: ${err instanceof Error ? err.message : err}`)
    return false
  }
  reporter.info(`wrote ${TYPES_FILE} (message types of the handlers)`)
  return true
}

/**
 * Writes the file in `root` again when `gone` (a path Vite's watcher saw deleted) is it: a
 * `git stash -u` or a clean-up while Vite runs would otherwise leave tsc without the types
 * until a handler file's types change.
 * @param {string} root the folder of vite.config
 * @param {string} gone
 * @param {Reporter} reporter
 */
export function restoreTypesFile(root, gone, reporter) {
  const text = lastText.get(root)
  if (text !== undefined && path.resolve(gone) === path.join(root, TYPES_FILE)) syncTypesFile(root, text, reporter)
}
