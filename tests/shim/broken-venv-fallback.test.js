// A .venv beside vite.config whose interpreter link is broken (its base Python was removed),
// passed by for a python3 on PATH that has wsside: the sidecar runs, and Vite's terminal says
// once, at start, that it runs without the .venv's packages, and how to make the .venv again.
// Real Vite, real sidecar.

import assert from 'node:assert/strict'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import { environment } from './helpers/environment.js'
import { makeProject, PYTHON, startViteFor, tempFolder } from './helpers/project.js'
import { connectWs } from './helpers/ws-client.js'

/**
 * A project whose .venv/bin/python links to a Python that is gone, and a PATH whose python3
 * (the rules' last resort) is the tests' Python, which has wsside. Returns the project and the
 * missing path.
 */
function brokenVenvProject(t) {
  const root = makeProject(t)
  const bin = path.join(root, '.venv', 'bin')
  mkdirSync(bin, { recursive: true })
  writeFileSync(path.join(root, '.venv', 'pyvenv.cfg'), 'home = /usr/bin\nversion = 3.12.1\n')
  const gone = path.join(tempFolder(t), 'removed', 'python3.12')
  symlinkSync(gone, path.join(bin, 'python3.12'))
  symlinkSync('python3.12', path.join(bin, 'python'))
  const shims = tempFolder(t)
  writeFileSync(path.join(shims, 'python3'), `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} "$@"\n`, { mode: 0o755 })
  environment(t, { PATH: `${shims}${path.delimiter}${process.env.PATH}` })
  return { root, gone }
}

it('a broken .venv passed by for python3 on PATH: one warning at start, and the sidecar serves', async (t) => {
  const { root, gone } = brokenVenvProject(t)
  const { port, logs } = await startViteFor(t, root, { options: { python: undefined } })
  const warning = '[wsside] The .venv beside vite.config is there, but its interpreter is gone: .venv/bin/python ' +
    `links to ${gone}, which does not exist, so the plugin passed it by.\n  The sidecar runs python3 (chosen by the ` +
    'default, python3 on PATH: no option, variable or virtual environment named another) instead, which does not see ' +
    'the packages installed in .venv. Make it again, then install wsside and the packages it had: ' +
    '`python3 -m venv --clear .venv && .venv/bin/python -m pip install wsside`.'
  const at = logs.lines.indexOf(warning)
  assert.ok(at >= 0, logs.lines.join('\n'))
  assert.equal(logs.levels[at], 'warn')
  assert.equal(logs.lines.filter((line) => line.includes('.venv beside vite.config')).length, 1)
  // Before the process's own lines (a handler's import error would come after it).
  assert.ok(at < logs.lines.findIndex((line) => /sidecar ready: pid \d+/.test(line)), logs.lines.join('\n'))
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('served')
  assert.equal(await ws.next(), 'served')
  ws.close()
})

it('a broken .venv is not named when the `python` option chose the interpreter', async (t) => {
  const { root } = brokenVenvProject(t)
  const { logs } = await startViteFor(t, root, { options: { python: 'python3' } })
  assert.ok(!logs.lines.some((line) => line.includes('beside vite.config')), logs.lines.join('\n'))
})
