#!/usr/bin/env node
// @ts-check
// `npx wsside doctor` (or types, init, serve, ...) in a project with the plugin installed: the
// wsside command of the Python the plugin runs, `PYTHON -m wsside ARGS`, run in the folder of
// the nearest vite.config (or astro.config, nuxt.config), as npm scripts are. npm has no package of that name to
// fetch: without this bin, `npx wsside` would get whatever is ever published under it.

import { spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { constants } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { resolveInterpreter } from '../lib/interpreter.js'
import { whyNoWsside } from '../lib/why-no-wsside.js'

const CONFIG = /^(vite|astro|nuxt)\.config\.[cm]?[jt]s$/

/**
 * The nearest folder at or above `start` that holds a Vite (or Astro, Nuxt) config; `start`
 * when none does.
 * @param {string} start
 */
function projectRoot(start) {
  for (let folder = start; ; folder = path.dirname(folder)) {
    if (readdirSync(folder).some((name) => CONFIG.test(name))) return folder
    if (path.dirname(folder) === folder) return start
  }
}

/**
 * The `python` option of the wsside() in `root`'s vite.config, read as Vite reads the file
 * (undefined without one, or when the config cannot be loaded: the other rules then choose).
 * @param {string} root
 */
async function pythonOption(root) {
  try {
    const vite = await import(pathToFileURL(viteEntry(root)).href)
    // A config whose own code never settles leaves the other rules to choose, in 10 s.
    const loaded = await Promise.race([
      vite.loadConfigFromFile({ command: 'serve', mode: 'development' }, undefined, root, 'silent'),
      new Promise((resolve) => setTimeout(resolve, 10_000)),
    ])
    const plugins = (loaded?.config.plugins ?? []).flat(Infinity)
    const ours = (await Promise.all(plugins)).flat(Infinity).find((p) => p?.name === 'vite-plugin-wsside')
    const python = ours?.api?.options?.python
    return typeof python === 'string' ? python : undefined
  } catch {
    return undefined
  }
}

/**
 * The ES module entry of the project's Vite (not the CommonJS one, which Vite 5 and 6 warn
 * about), as its package.json exports it.
 * @param {string} root
 */
function viteEntry(root) {
  const manifest = createRequire(path.join(root, 'package.json')).resolve('vite/package.json')
  /** @type {unknown} */
  let entry = JSON.parse(readFileSync(manifest, 'utf8')).exports['.']
  while (entry !== null && typeof entry === 'object') entry = 'import' in entry ? entry.import : /** @type {{ default?: unknown }} */ (entry).default
  if (typeof entry !== 'string') throw new Error(`no ES module entry in ${manifest}`)
  return path.join(path.dirname(manifest), entry)
}

const root = projectRoot(process.cwd())
const { python, chosenBy } = resolveInterpreter(root, await pythonOption(root))
const probe = spawnSync(python, ['-c', 'import wsside'], { cwd: root, stdio: 'ignore', timeout: 20_000 })
if (probe.error) {
  const why = /** @type {NodeJS.ErrnoException} */ (probe.error).code === 'ENOENT' ? 'no such file' : probe.error.message
  console.error(`wsside: cannot run ${python} (chosen by ${chosenBy}): ${why}`)
  process.exit(127)
}
if (probe.status !== 0) {
  // What the plugin says of the same interpreter: why it has no wsside, and where one is.
  whyNoWsside(python, root, 5000, (why) => {
    console.error(`wsside: ${python} (chosen by ${chosenBy})${why}`)
    process.exit(1)
  })
} else {
  // In the project's folder, where `wsside serve` and `types` look for ws/ (npm scripts run
  // there too); a path given on the command line is then relative to it.
  const child = spawn(python, ['-m', 'wsside', ...process.argv.slice(2)], {
    cwd: root, stdio: 'inherit', env: { ...process.env, WSSIDE_VIA_NPX: '1' },
  })
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.on(signal, () => child.kill(signal)) // wsside serve stops as it would in a shell
  }
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)))
}
