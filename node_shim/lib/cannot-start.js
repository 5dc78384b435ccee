// @ts-check
// What the shim says when the chosen interpreter cannot run the sidecar: it cannot be spawned
// (not there, a folder, not executable), or it has no wsside (why: lib/why-no-wsside.js).
// lib/exits.js fails the sidecar with these words. No save of a project file changes the
// interpreter, so each says what starts the sidecar again.

import { statSync } from 'node:fs'
import { INTERPRETER_HELP } from './interpreter.js'

// The plugin starts a sidecar when Vite (re)starts, not when an interpreter changes.
const START_AGAIN = '\n  Then save vite.config or restart Vite to start the sidecar again.'

/**
 * The report of `python` (chosen by `chosenBy`, in words) that could not be spawned (`err`).
 * @param {string} python
 * @param {string} chosenBy
 * @param {NodeJS.ErrnoException} err
 */
export function cannotSpawn(python, chosenBy, err) {
  return `cannot start the Python sidecar: ${python} ${cannotRun(python, err)} (chosen by ${chosenBy}).` +
    INTERPRETER_HELP + START_AGAIN
}

/**
 * The report of `python` (chosen by `chosenBy`, in words) that has no wsside, `why` being
 * what lib/why-no-wsside.js found.
 * @param {string} python
 * @param {string} chosenBy
 * @param {string} why
 */
export function noWsside(python, chosenBy, why) {
  return `cannot start the Python sidecar: ${python} (chosen by ${chosenBy})${why}` + INTERPRETER_HELP + START_AGAIN
}

/**
 * Why `python` could not be spawned (`err`), as words to follow its name.
 * @param {string} python
 * @param {NodeJS.ErrnoException} err
 */
function cannotRun(python, err) {
  if (err.code === 'ENOENT') return 'was not found'
  if (err.code !== 'EACCES') return `could not be run (${err.code ?? err.message})`
  // A path that is there: a folder, or a file without the permission to run it.
  return statSync(python, { throwIfNoEntry: false })?.isDirectory() ? 'is a folder, not an interpreter'
    : 'cannot be run: it is not executable (or a folder on its path is not searchable)'
}
