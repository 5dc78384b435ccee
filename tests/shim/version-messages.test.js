// What Vite's terminal says of the two packages' versions: the sidecar's ready line names
// both, and a Vite outside the plugin's peer range is told the range of its own major (npm,
// given the whole range, would install the newest major). The versions outside the range
// cannot be installed here offline: the plugin's own hook is called as Vite calls it.

import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import wsside from 'vite-plugin-wsside'
import { releaseLineSkew } from '../../node_shim/lib/protocol.js'
import { captureLogger, makeProject, PYTHON, REPO, startViteFor, tempFolder } from './helpers/project.js'

const PLUGIN = JSON.parse(readFileSync(path.join(REPO, 'node_shim', 'package.json'), 'utf8'))
const PEER = PLUGIN.peerDependencies.vite
const WSSIDE = /^__version__ = "(.*)"$/m.exec(readFileSync(path.join(REPO, 'sidecar', 'wsside', '__init__.py'), 'utf8'))[1]

it('the ready line names the sidecar\'s wsside and the plugin, then the interpreter', async (t) => {
  const { logs } = await startViteFor(t, makeProject(t))
  const [ready] = await logs.waitFor(/sidecar ready: .*/)
  assert.match(ready, /^sidecar ready: pid \d+, /)
  assert.equal(ready.replace(/pid \d+/, 'pid N'),
    `sidecar ready: pid N, wsside ${WSSIDE} (vite-plugin-wsside ${PLUGIN.version}), ${PYTHON}`)
})

/** What the plugin says when Vite `version` starts it. */
function warningFor(t, version) {
  const logs = captureLogger()
  wsside().configResolved.call({ meta: { viteVersion: version } }, { command: 'serve', root: tempFolder(t), logger: logs.logger })
  return logs.lines
}

it('a Vite 5 below the range is told the range of Vite 5, not the whole range', (t) => {
  const own = PEER.split('||').map((a) => a.trim()).find((a) => a.startsWith('^5.'))
  assert.ok(own, PEER)
  assert.deepEqual(warningFor(t, '5.4.11'), [`[wsside] Vite 5.4.11 is not one vite-plugin-wsside supports (${PEER}): ` +
    `npm install -D 'vite@${own}' (\`wsside doctor\` shows both)`])
})

it('a Vite of a major the range has no alternative for is told the whole range', (t) => {
  const major = Math.max(...PEER.split('||').map((a) => Number(/\d+/.exec(a)[0]))) + 1
  const version = `${major}.0.0`
  assert.deepEqual(warningFor(t, version), [`[wsside] Vite ${version} is not one vite-plugin-wsside supports (${PEER}): ` +
    `npm install -D 'vite@${PEER}' (\`wsside doctor\` shows both)`])
})

it('a virtual environment made by uv venv (no pip in it) is told uv pip install', (t) => {
  const folder = tempFolder(t)
  writeFileSync(path.join(folder, 'pyvenv.cfg'), 'home = /usr/bin\nuv = 0.5.4\nversion_info = 3.12.7\n')
  const python = path.join(folder, 'bin', 'python')
  const other = `${Number(PLUGIN.version.split('.')[0]) + 1}.0.0`
  const line = PLUGIN.version.split('.').slice(0, 2).join('.')
  assert.match(releaseLineSkew(other, python) ?? '',
    new RegExp(`or uv pip install --python ${python.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} 'wsside==${line.replace('.', '\\.')}\\.\\*'`))
})
