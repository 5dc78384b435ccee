// @ts-check
// Interpreter choice: the rules are data (interpreter-rules.json), shared with the Python
// side (`wsside._project.interpreter`, used by `wsside doctor`), so both always agree; and what
// a user is told about choosing one. Why a chosen one cannot run the sidecar: why-no-wsside.js.

import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'

export const INTERPRETER_HELP = '\n  To choose the interpreter: the `python` option of wsside() in vite.config, or the ' +
  'WSSIDE_PYTHON environment variable (a .venv beside vite.config is found by itself).' +
  '\n  `wsside doctor` (a command of the Python package, not of npm: `.venv/bin/wsside doctor` ' +
  'once wsside is installed there) shows which interpreter is used, why, and whether it can import wsside.'
// The oldest Python wsside installs on: pyproject.toml's requires-python (tests/test_versions.py).
export const PYTHON_FLOOR = [3, 10]

/**
 * One rule of interpreter-rules.json (its `description` says what each kind means).
 * `windows`: the value used on Windows instead of `path` or `command`.
 * @typedef {{ name: string, kind: 'option' }
 *   | { name: string, kind: 'env', var: string }
 *   | { name: string, kind: 'project_file', path: string, windows?: string }
 *   | { name: string, kind: 'env_dir_file', var: string, path: string, windows?: string }
 *   | { name: string, kind: 'command', command: string, windows?: string }} Rule
 */

/** @type {Rule[]} the file ships with this package, in this shape */
export const RULES = JSON.parse(readFileSync(new URL('../interpreter-rules.json', import.meta.url), 'utf8')).rules

/**
 * The virtual-environment folders the project_file rules look in (`.venv`, `venv`), in their
 * order: the first segment of each rule's path (a rule's Windows path has the same folder).
 * @type {string[]}
 */
export const VENV_FOLDERS = RULES.flatMap((rule) => (rule.kind === 'project_file' ? [rule.path.split('/')[0]] : []))

/** @param {string} p */
export function isFile(p) {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

/**
 * A bare command name ("python3.12") stays a command; anything with a slash is a path.
 * @param {string} root
 * @param {string} value
 */
function absolute(root, value) {
  return /[\\/]/.test(value) ? path.resolve(root, value) : value
}

/**
 * @param {Rule} rule
 * @param {string} root
 * @param {string | undefined} option
 * @param {NodeJS.ProcessEnv} env
 * @param {boolean} windows
 * @returns {string | null} what `rule` names for this project, or null when it does not apply
 */
export function apply(rule, root, option, env, windows) {
  switch (rule.kind) {
    case 'option':
      return option ? absolute(root, option) : null
    case 'env': {
      const value = env[rule.var]
      return value ? absolute(root, value) : null
    }
    case 'project_file': {
      const candidate = path.join(root, windows ? (rule.windows ?? rule.path) : rule.path)
      return isFile(candidate) ? candidate : null
    }
    case 'env_dir_file': {
      const dir = env[rule.var]
      const candidate = dir ? path.join(dir, windows ? (rule.windows ?? rule.path) : rule.path) : null
      return candidate && isFile(candidate) ? candidate : null
    }
    case 'command':
      // Resolved on PATH by spawn itself.
      return windows ? (rule.windows ?? rule.command) : rule.command
    default:
      throw new Error(`interpreter-rules.json: unknown rule ${JSON.stringify(rule)}`)
  }
}

/**
 * How `rule` chose an interpreter, for a user who wants another.
 * @param {Rule} rule
 * @param {boolean} windows
 */
function chosenBy(rule, windows) {
  switch (rule.kind) {
    case 'option':
      return 'the `python` option of wsside()'
    case 'env':
      return `the ${rule.var} environment variable`
    case 'project_file':
      return `${rule.name} in the project folder`
    case 'env_dir_file':
      return `the virtual environment in ${rule.var}`
    case 'command':
      return `the default, ${windows ? (rule.windows ?? rule.command) : rule.command} on PATH: ` +
        'no option, variable or virtual environment named another'
  }
}

/**
 * The interpreter for a project whose vite.config lives in `root`: `python`, the `rule` that
 * chose it (its name in interpreter-rules.json) and how, in words (`chosenBy`).
 * @param {string} root
 * @param {string | undefined} option the plugin's `python` option
 */
export function resolveInterpreter(root, option, env = process.env, windows = process.platform === 'win32') {
  for (const rule of RULES) {
    const found = apply(rule, root, option, env, windows)
    if (found) return { python: found, rule: rule.name, chosenBy: chosenBy(rule, windows) }
  }
  throw new Error('interpreter-rules.json has no rule that always applies')
}
