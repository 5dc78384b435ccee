// @ts-check
// Interpreter choice: the rules are data (interpreter-rules.json), shared with the Python
// side (`wsside._edge.interpreter`, used by `wsside doctor`), so both always agree. Also what
// a user is told about choosing one, and why a chosen one cannot run the sidecar.

import { execFile } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'

export const INTERPRETER_HELP = '\n  To choose the interpreter: the `python` option of wsside() in vite.config, or the ' +
  'WSSIDE_PYTHON environment variable (a .venv beside vite.config is found by itself).' +
  '\n  `wsside doctor` shows which interpreter is used, why, and whether it can import wsside.'
// The oldest Python wsside installs on: pyproject.toml's requires-python (tests/test_versions.py).
export const PYTHON_FLOOR = [3, 10]
// Asked of an interpreter that cannot import wsside: its major.minor (any Python, 2.7 too).
const VERSION_PROBE = 'import sys; print("%d.%d" % sys.version_info[:2])'

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
const RULES = JSON.parse(readFileSync(new URL('../interpreter-rules.json', import.meta.url), 'utf8')).rules

/**
 * The virtual-environment folders the project_file rules look in (`.venv`, `venv`), in their
 * order: the first segment of each rule's path (a rule's Windows path has the same folder).
 * @type {string[]}
 */
export const VENV_FOLDERS = RULES.flatMap((rule) => (rule.kind === 'project_file' ? [rule.path.split('/')[0]] : []))

/** @param {string} p */
function isFile(p) {
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
 * @returns {string | null}
 */
function apply(rule, root, option, env, windows) {
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

/**
 * A path or word as a POSIX shell reads it back (a folder named `My App` stays one word).
 * @param {string} word
 */
function shellQuote(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`
}

/**
 * The interpreters of the virtual environments (`.venv`, `venv`) in the folders above
 * `root`, nearest first: a monorepo keeps its one at the repository's root, while the rules
 * look beside vite.config only.
 * @param {string} root
 * @param {boolean} windows
 */
function venvsAbove(root, windows) {
  const found = []
  for (let folder = path.dirname(root); ; folder = path.dirname(folder)) {
    found.push(...venvsIn(folder, windows))
    if (path.dirname(folder) === folder) return found
  }
}

/**
 * The interpreters of the virtual environments the rules look for in `folder`, in their order.
 * @param {string} folder
 * @param {boolean} windows
 * @returns {string[]}
 */
function venvsIn(folder, windows) {
  return RULES.filter((rule) => rule.kind === 'project_file')
    .map((rule) => path.join(folder, windows ? (rule.windows ?? rule.path) : rule.path))
    .filter(isFile)
}

/**
 * The interpreter of the active virtual environment (VIRTUAL_ENV's rule), if there is one.
 * @param {NodeJS.ProcessEnv} env
 * @param {boolean} windows
 * @returns {string | null}
 */
function activeVenv(env, windows) {
  const rule = RULES.find((r) => r.kind === 'env_dir_file')
  return rule ? apply(rule, '', undefined, env, windows) : null
}

/**
 * The first of `pythons` that imports wsside, asked one after the other, or undefined.
 * @param {string[]} pythons
 * @param {string} cwd
 * @param {number} timeoutMs for each
 * @returns {Promise<string | undefined>}
 */
async function firstWithWsside(pythons, cwd, timeoutMs) {
  for (const python of pythons) {
    const imports = await new Promise((resolve) => {
      execFile(python, ['-c', 'import wsside'], { timeout: timeoutMs, cwd }, (err) => resolve(!err))
    })
    if (imports) return python
  }
  return undefined
}

/**
 * Why `python` cannot run the sidecar when it cannot import wsside, and the way out, for
 * `callback` (text to follow the interpreter's name): the active virtual environment
 * (VIRTUAL_ENV in `env`) when it has wsside (a rule before its own chose another, such as
 * an empty .venv beside vite.config: then WSSIDE_PYTHON or the option to point at it, as
 * `wsside doctor` says), a virtual environment above the project that has wsside (then the
 * `python` option to set), else installing wsside (a
 * bare command such as the default python3 gets a .venv beside vite.config, which the
 * rules find; pip into a system Python is often refused), unless that Python is older
 * than wsside supports (then pip would refuse).
 * @param {string} python
 * @param {string} cwd the project's folder (vite.config's)
 * @param {number} timeoutMs how long each interpreter may take to answer
 * @param {(why: string) => void} callback
 */
export function whyNoWsside(python, cwd, timeoutMs, callback, windows = process.platform === 'win32', env = process.env) {
  execFile(python, ['-c', VERSION_PROBE], { timeout: timeoutMs, cwd }, (err, stdout) => {
    const version = err ? null : stdout.trim()
    const [major, minor] = (version ?? '').split('.').map(Number)
    const tooOld = version !== null && (major < PYTHON_FLOOR[0] || (major === PYTHON_FLOOR[0] && minor < PYTHON_FLOOR[1]))
    const floor = PYTHON_FLOOR.join('.')
    if (tooOld) {
      callback(` is Python ${version}, and wsside needs Python ${floor} or later.\n  Choose a Python ${floor} or ` +
        'later that has wsside installed.')
      return
    }
    const active = activeVenv(env, windows)
    // The project's own: when one of them has wsside, an option or variable chose another.
    const own = venvsIn(cwd, windows)
    const candidates = [...own, ...(active ? [active] : []), ...venvsAbove(cwd, windows)].filter((venv) => venv !== python)
    void firstWithWsside(candidates, cwd, timeoutMs).then((venv) => {
      if (venv !== undefined && own.includes(venv)) {
        const name = path.relative(cwd, venv).split(path.sep).join('/')
        callback(` cannot import wsside.\n  ${name} beside vite.config has wsside, and the plugin uses it by itself: ` +
          'take out what chose the interpreter above.')
      } else if (venv !== undefined && venv === active) {
        callback(` cannot import wsside.\n  The active virtual environment (VIRTUAL_ENV) has wsside: point WSSIDE_PYTHON or ` +
          `the \`python\` option of wsside() at ${shellQuote(venv)}, or install wsside for this one: ` +
          `\`${shellQuote(python)} -m pip install wsside\`.`)
      } else if (venv !== undefined) {
        const option = path.relative(cwd, venv).split(path.sep).join('/')
        callback(` cannot import wsside.\n  ${venv} has wsside, but it is not beside vite.config, where the ` +
          `plugin looks: set \`python: '${option}'\` in wsside() of vite.config.`)
      } else if (/[\\/]/.test(python)) {
        callback(` cannot import wsside.\n  Install wsside for it: \`${shellQuote(python)} -m pip install wsside\`, ` +
          'or choose an interpreter that has it.')
      } else {
        callback(` cannot import wsside.\n  Install wsside in a .venv beside vite.config, which the plugin finds by ` +
          `itself: \`${python} -m venv .venv && .venv/${windows ? 'Scripts' : 'bin'}/pip install wsside\`.`)
      }
    })
  })
}
