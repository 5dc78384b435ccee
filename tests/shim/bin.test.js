// `npx wsside ARGS` in a project with the plugin installed: the package's `wsside` bin runs
// `PYTHON -m wsside ARGS` with the Python the plugin would run (here chosen by the `python`
// option of wsside() in vite.config, read as Vite loads the file, found from any folder
// below it), in the folder of that vite.config, passing the exit code through; a Python
// without wsside gets the plugin's words for it.

import assert from 'node:assert/strict'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import { makeProject, ownProcess, PYTHON, REPO, VITE_PACKAGES } from './helpers/project.js'
import { withTimeout } from './helpers/ws-client.js'
import { createRequire } from 'node:module'

const BIN = path.join(REPO, 'node_shim', 'bin', 'wsside.js')
const VITE = path.dirname(createRequire(import.meta.url).resolve(`${VITE_PACKAGES[process.env.WSSIDE_VITE ?? '8']}/package.json`))

/** A project whose vite.config gives wsside() `python`, with the plugin and Vite installed. */
function project(t, python) {
  const root = makeProject(t)
  writeFileSync(path.join(root, 'package.json'), '{ "type": "module" }\n')
  writeFileSync(path.join(root, 'vite.config.js'),
    `import wsside from 'vite-plugin-wsside'\nexport default { plugins: [wsside({ python: ${JSON.stringify(python)} })] }\n`)
  mkdirSync(path.join(root, 'node_modules'))
  symlinkSync(path.join(REPO, 'node_shim'), path.join(root, 'node_modules', 'vite-plugin-wsside'))
  symlinkSync(VITE, path.join(root, 'node_modules', 'vite'))
  mkdirSync(path.join(root, 'src', 'deep'), { recursive: true })
  return root
}

async function run(t, cwd, ...args) {
  const bin = ownProcess(t, process.execPath, [BIN, ...args], cwd)
  const code = await withTimeout(bin.closed, 60_000, `wsside ${args.join(' ')} to exit`)
  return { code, output: bin.output }
}

it('runs the wsside of the python option, from a folder below vite.config, with its exit code', async (t) => {
  const root = project(t, PYTHON)
  const deep = path.join(root, 'src', 'deep')
  const version = await run(t, deep, '--version')
  assert.equal(version.code, 0, version.output)
  assert.match(version.output, /^\d+\.\d+\.\d+\n$/, version.output)
  // Run in the project's folder, as npm scripts are: `wsside types` reads its ws/.
  const types = await run(t, deep, 'types')
  assert.equal(types.code, 0, types.output)
  assert.match(types.output, /declare module 'vite-plugin-wsside\/client'/, types.output)
  // What init says to run next is the way it was run.
  const init = await run(t, deep, 'init')
  assert.match(init.output, /\n {2}npx wsside doctor\n/, init.output)
  const wrong = await run(t, deep, 'serve', '--prot', '1')
  assert.equal(wrong.code, 2, wrong.output) // the CLI's own usage error, passed through
  assert.match(wrong.output, /--prot.*\(npx wsside serve --help\)/, wrong.output)
  const help = await run(t, deep, '--help')
  assert.match(help.output, /^Usage: npx wsside \[OPTIONS\] COMMAND/, help.output)
})

it('a python without wsside: says which, how it was chosen and how to install it, exit 1', async (t) => {
  const root = makeProject(t)
  const python = path.join(root, 'python-without-wsside')
  writeFileSync(python, `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} -S "$@"\n`, { mode: 0o755 })
  const bare = project(t, python)
  const done = await run(t, bare, 'doctor')
  assert.equal(done.code, 1, done.output)
  assert.equal(done.output.split('\n')[0],
    `wsside: ${python} (chosen by the \`python\` option of wsside()) cannot import wsside.`, done.output)
  assert.match(done.output, new RegExp(`Install wsside for it: \`${python} -m pip install wsside\``), done.output)
})
