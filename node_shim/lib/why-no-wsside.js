// @ts-check
// Why a chosen interpreter cannot run the sidecar (it cannot import wsside), and the way out:
// a virtual environment made with another Python, one the rules passed by because its
// interpreter is gone, another environment that has wsside, or the install command.

import { execFile } from 'node:child_process'
import { lstatSync, readFileSync, readlinkSync } from 'node:fs'
import path from 'node:path'
import { apply, isFile, PYTHON_FLOOR, resolveInterpreter, RULES } from './interpreter.js'

// Asked of an interpreter that cannot import wsside: its major.minor (any Python, 2.7 too).
const VERSION_PROBE = 'import sys; print("%d.%d" % sys.version_info[:2])'

/**
 * A path or word as a POSIX shell reads it back (a folder named `My App` stays one word).
 * @param {string} word
 */
export function shellQuote(word) {
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
 * The interpreters of the virtual environments beside a handlers folder that lies outside
 * the project (`handlers: '../../services/realtime/ws'` in a monorepo), from its parent up to
 * the folders the project's own search reaches: the Python project the handlers belong to
 * keeps its environment there.
 * @param {string | null} handlers the handlers folder, absolute
 * @param {string} root
 * @param {boolean} windows
 */
function venvsNearHandlers(handlers, root, windows) {
  /** @type {string[]} */
  const found = []
  if (handlers === null) return found
  for (let folder = path.dirname(handlers); ; folder = path.dirname(folder)) {
    const covered = folder === root || root.startsWith(folder + path.sep)
    if (covered || path.dirname(folder) === folder) return found
    found.push(...venvsIn(folder, windows))
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
 * The pyvenv.cfg of the virtual environment `python` (a path) belongs to, beside the
 * executable or one folder up (where Python looks for it): its folder and its `key = value`
 * lines (keys lower-cased, as site.py reads them); null for a bare command or none found.
 * @param {string} python
 * @returns {{ folder: string, values: Map<string, string> } | null}
 */
function pyvenvCfg(python) {
  if (!/[\\/]/.test(python)) return null
  for (const folder of [path.dirname(python), path.dirname(path.dirname(python))]) {
    let text
    try {
      text = readFileSync(path.join(folder, 'pyvenv.cfg'), 'utf8')
    } catch {
      continue
    }
    const values = new Map()
    for (const line of text.split(/\r?\n/)) {
      const at = line.indexOf('=')
      if (at >= 0) values.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim())
    }
    return { folder, values }
  }
  return null
}

/**
 * `python -m pip install WHAT`, or for a virtual environment made by `uv venv` (its pyvenv.cfg
 * has a `uv = VERSION` line; it has no pip), `uv pip install --python PYTHON WHAT`, as the
 * Python side says it (`wsside._runtime.missing_module.pip_install`).
 * @param {string} python
 * @param {string} what
 */
export function pipInstall(python, what) {
  return pyvenvCfg(python)?.values.has('uv')
    ? `uv pip install --python ${shellQuote(python)} ${what}`
    : `${shellQuote(python)} -m pip install ${what}`
}

/**
 * The command that makes the virtual environment in `folder` again with the default Python
 * (the rules' last one, python3) and installs wsside in it.
 * @param {string} folder as the command shows it (relative to vite.config's folder or absolute)
 * @param {boolean} windows
 */
function recreate(folder, windows) {
  const rule = RULES.find((r) => r.kind === 'command')
  const command = rule?.kind === 'command' ? (windows ? (rule.windows ?? rule.command) : rule.command) : 'python3'
  const python = `${folder}/${windows ? 'Scripts/python.exe' : 'bin/python'}`
  return `Make it again, then install wsside and the packages it had: \`${command} -m venv --clear ${shellQuote(folder)} && ` +
    `${shellQuote(python)} -m pip install wsside\`.`
}

/**
 * Why `python`, of a virtual environment, cannot see the packages installed in it: its
 * pyvenv.cfg says it was made with another major.minor than the `running` one (the base
 * Python it links to was upgraded), so it looks in another lib/pythonX.Y; else null.
 * @param {string} python
 * @param {string} running its major.minor
 * @param {string} cwd
 * @param {boolean} windows
 */
function staleVenv(python, running, cwd, windows) {
  const cfg = pyvenvCfg(python)
  const key = ['version', 'version_info'].find((k) => cfg?.values.has(k))
  if (!cfg || !key) return null
  const value = cfg.values.get(key) ?? ''
  const made = /^(\d+\.\d+)/.exec(value)?.[1]
  if (!made || made === running) return null
  const relative = path.relative(cwd, cfg.folder)
  const shown = relative && !relative.startsWith('..') && !path.isAbsolute(relative)
    ? relative.split(path.sep).join('/')
    : cfg.folder
  return `  Its virtual environment, ${shown}, was made with Python ${made} (its pyvenv.cfg says ${key} = ${value}), but ` +
    `its interpreter now runs Python ${running}, so the packages installed for ${made} are not seen. ` +
    recreate(shown, windows)
}

/**
 * Where the symbolic link `file` ends up: the first path of its chain that is missing.
 * @param {string} file
 */
function missingEnd(file) {
  let current = file
  for (let hops = 0; hops < 40; hops++) {
    let target
    try {
      target = readlinkSync(current)
    } catch {
      return current
    }
    current = path.resolve(path.dirname(current), target)
  }
  return current
}

/**
 * A virtual environment beside vite.config that the rules passed by before choosing `python`
 * because its interpreter is a broken symbolic link (the base Python it was made with was
 * removed, as an upgrade does), and the way out; else null. Only when the rules, with no
 * option and no WSSIDE_PYTHON, chose `python`: else that choice passed it by.
 * @param {string} python
 * @param {string} cwd
 * @param {NodeJS.ProcessEnv} env
 * @param {boolean} windows
 */
function brokenVenv(python, cwd, env, windows) {
  const broken = passedBy(python, cwd, env, windows)
  return broken && `  ${broken.why} ${broken.remedy}`
}

/**
 * A warning for the terminal when the sidecar starts: the rules passed by a virtual
 * environment beside vite.config whose interpreter is gone (as brokenVenv says it) and chose
 * `python`, which can run the sidecar, but not with the packages installed in that
 * environment (a handler's import of one fails, with no word of the environment); else null.
 * @param {string} python
 * @param {string} rule the name of the rule that chose it
 * @param {string} chosenBy how that rule chose it, in words
 * @param {string} cwd
 */
export function brokenVenvPassedBy(python, rule, chosenBy, cwd, env = process.env, windows = process.platform === 'win32') {
  // The `python` option or WSSIDE_PYTHON named it: a choice made before any folder was looked in.
  const named = RULES.find((r) => r.name === rule)
  if (named?.kind === 'option' || named?.kind === 'env') return null
  const broken = passedBy(python, cwd, env, windows)
  return broken && `${broken.why}\n  The sidecar runs ${python} (chosen by ${chosenBy}) instead, which does not see ` +
    `the packages installed in ${broken.folder}. ${broken.remedy}`
}

/**
 * The virtual environment beside vite.config (its folder) that the rules passed by before
 * choosing `python` because its interpreter is a broken link, why in words, and the way out
 * (see brokenVenv); else null.
 * @param {string} python
 * @param {string} cwd
 * @param {NodeJS.ProcessEnv} env
 * @param {boolean} windows
 * @returns {{ folder: string, why: string, remedy: string } | null}
 */
function passedBy(python, cwd, env, windows) {
  const chosen = resolveInterpreter(cwd, undefined, env, windows)
  if (chosen.python !== python) return null
  for (const rule of RULES) {
    if (rule.name === chosen.rule) return null
    if (rule.kind !== 'project_file') continue
    const relative = windows ? (rule.windows ?? rule.path) : rule.path
    const file = path.join(cwd, relative)
    try {
      lstatSync(file)
    } catch {
      continue // not there at all
    }
    if (isFile(file)) continue
    const target = missingEnd(file)
    if (target === file) continue // not a link: something else is wrong with it
    const folder = relative.split('/')[0]
    return {
      folder,
      why: `The ${rule.name} beside vite.config is there, but its interpreter is gone: ${relative} links to ` +
        `${target}, which does not exist, so the plugin passed it by.`,
      remedy: recreate(folder, windows),
    }
  }
  return null
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
 * `callback` (text to follow the interpreter's name): its virtual environment made with
 * another Python than the one its interpreter runs now (then make it again), a .venv beside
 * vite.config that the rules passed by because its interpreter is gone (the same), the active
 * virtual environment
 * (VIRTUAL_ENV in `env`) when it has wsside (a rule before its own chose another, such as
 * an empty .venv beside vite.config: then WSSIDE_PYTHON or the option to point at it, as
 * `wsside doctor` says), a virtual environment above the project that has wsside (then the
 * `python` option to set), else installing wsside (a
 * bare command such as the default python3 gets a .venv beside vite.config, which the
 * rules find; pip into a system Python is often refused; uv's pip for a virtual environment
 * that `uv venv` made, which has no pip), unless that Python is older than wsside supports
 * (then pip would refuse). A virtual environment beside a handlers folder outside the project
 * (a monorepo's Python project) is asked too, before those above the project.
 * @param {string} python
 * @param {string} cwd the project's folder (vite.config's)
 * @param {number} timeoutMs how long each interpreter may take to answer
 * @param {(why: string) => void} callback
 * @param {boolean} [windows]
 * @param {NodeJS.ProcessEnv} [env]
 * @param {string | null} [handlers] the handlers folder, absolute (null: the default, ws)
 */
export function whyNoWsside(python, cwd, timeoutMs, callback, windows = process.platform === 'win32', env = process.env, handlers = null) {
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
    const stale = version === null ? null : staleVenv(python, version, cwd, windows)
    const broken = stale ?? brokenVenv(python, cwd, env, windows)
    if (broken !== null) {
      callback(` cannot import wsside.\n${broken}`)
      return
    }
    const active = activeVenv(env, windows)
    // The project's own: when one of them has wsside, an option or variable chose another.
    const own = venvsIn(cwd, windows)
    const candidates = [...own, ...(active ? [active] : []), ...venvsNearHandlers(handlers, cwd, windows), ...venvsAbove(cwd, windows)]
      .filter((venv) => venv !== python)
    void firstWithWsside(candidates, cwd, timeoutMs).then((venv) => {
      if (venv !== undefined && own.includes(venv)) {
        const name = path.relative(cwd, venv).split(path.sep).join('/')
        // An empty venv folder the rules try first (`.venv` before `venv`): the way out is
        // that folder, which no option names.
        const first = own.includes(python) ? path.relative(cwd, python).split(path.sep)[0] : null
        callback(first !== null
          ? ` cannot import wsside.\n  ${name} beside vite.config has wsside, but the plugin tries ${first} first: ` +
            `remove or rename ${first} (or install wsside there: \`${pipInstall(python, 'wsside')}\`).`
          : ` cannot import wsside.\n  ${name} beside vite.config has wsside, and the plugin uses it by itself: ` +
            'take out what chose the interpreter above (the `python` option, or WSSIDE_PYTHON).')
      } else if (venv !== undefined && venv === active) {
        callback(` cannot import wsside.\n  The active virtual environment (VIRTUAL_ENV) has wsside: point WSSIDE_PYTHON or ` +
          `the \`python\` option of wsside() at ${shellQuote(venv)}, or install wsside for this one: ` +
          `\`${pipInstall(python, 'wsside')}\`.`)
      } else if (venv !== undefined) {
        const option = path.relative(cwd, venv).split(path.sep).join('/')
        callback(` cannot import wsside.\n  ${venv} has wsside, but it is not beside vite.config, where the ` +
          `plugin looks: set \`python: '${option}'\` in wsside() of vite.config.`)
      } else if (/[\\/]/.test(python)) {
        callback(` cannot import wsside.\n  Install wsside for it: \`${pipInstall(python, 'wsside')}\`, ` +
          'or choose an interpreter that has it.')
      } else {
        callback(` cannot import wsside.\n  Install wsside in a .venv beside vite.config, which the plugin finds by ` +
          `itself: \`${python} -m venv .venv && .venv/${windows ? 'Scripts' : 'bin'}/pip install wsside\`.`)
      }
    })
  })
}
