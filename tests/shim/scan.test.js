// Vite's dependency scan and a Python virtual environment in the project: a package in
// venv/ (no leading dot, so Vite's **/*.html reaches it) that ships a built web UI must not
// fail the scan; entries the user chose are theirs.

import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import { makeProject, startViteFor } from './helpers/project.js'

/**
 * `venv/` in `root`, a virtual environment (its pyvenv.cfg) holding a package with a built
 * web UI whose script imports a package it bundled (not installed for Vite to find).
 */
function fakeVenv(root) {
  const venv = path.join(root, 'venv')
  const assets = path.join(venv, 'lib/python3.11/site-packages/fakeui/static/assets')
  mkdirSync(assets, { recursive: true })
  writeFileSync(path.join(venv, 'pyvenv.cfg'), 'home = /usr/bin\nversion = 3.11.2\n')
  writeFileSync(path.join(assets, '../index.html'), '<!doctype html><script type="module" src="./assets/index.js"></script>')
  writeFileSync(path.join(assets, 'index.js'), "import 'some-ui-lib'\n")
}

/**
 * The lines Vite logged about `some-ui-lib` by the end of its dependency scan. A bare import
 * in a module of the project's waits for the scan in Vite's resolver (a module no .html loads,
 * so the scan does not see it); its own import, unresolved, then fails that request.
 */
async function scanLines(vite, logs, root) {
  writeFileSync(path.join(root, 'probe.js'), "import 'wsside-scan-probe'\n")
  await assert.rejects(vite.transformRequest('/probe.js'), /wsside-scan-probe/)
  // Without its colours: under CI=true Vite colours its output.
  return logs.lines.map((line) => line.replace(/\x1b\[[0-9;]*m/g, '')).filter((line) => line.includes('some-ui-lib'))
}

it('a web UI in venv/\'s site-packages does not fail the dependency scan', async (t) => {
  const root = makeProject(t)
  fakeVenv(root)
  const { vite, logs } = await startViteFor(t, root)
  assert.deepEqual(await scanLines(vite, logs, root), [])
})

it('entries the user set are left alone: their scan reaches into venv/ if they say so', async (t) => {
  const root = makeProject(t)
  fakeVenv(root)
  const { vite, logs } = await startViteFor(t, root, { config: { optimizeDeps: { entries: ['**/*.html'] } } })
  const lines = await scanLines(vite, logs, root)
  assert.equal(lines.length, 1, logs.lines.join('\n'))
  assert.match(lines[0], /could not be resolved:[\s\S]*some-ui-lib \(imported by .*venv\/lib\/python3\.11\/site-packages\/fakeui\/static\/assets\/index\.js\)/)
})
