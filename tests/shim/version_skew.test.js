// The npm plugin and the Python package at different versions: a sidecar of another control
// protocol fails with both packages' versions and what starts it again (a .py save does, once
// a matching wsside is installed; a restart of Vite, once a matching plugin is); another
// release line of the same protocol serves, with one warning at `ready`; a Vite outside the
// plugin's peer range gets one warning at start. The commands name each other's release line
// as each registry reads a range, and the interpreter the sidecar runs.
// The other wsside is a copy of this one's source, its versions edited, put first on the
// sidecar's PYTHONPATH (the `env` option), as a pip install of another release would be.

import assert from 'node:assert/strict'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import wsside from 'vite-plugin-wsside'
import { captureLogger, makeProject, PYTHON, REPO, startViteFor, tempFolder, vite, watcherHears } from './helpers/project.js'
import { connectWs } from './helpers/ws-client.js'

const PLUGIN = JSON.parse(readFileSync(path.join(REPO, 'node_shim', 'package.json'), 'utf8'))
const PROTOCOL = Number(/PROTOCOL_VERSION\s*=\s*(\d+)/.exec(readFileSync(path.join(REPO, 'node_shim/lib/protocol.js'), 'utf8'))[1])
const PEER = PLUGIN.peerDependencies.vite
// The plugin's release line, as pip is told to install it: `0.1` of 0.1.0.
const LINE = PLUGIN.version.split('.').slice(0, 2).join('.')
// What starts the sidecar again after each install.
const AFTER = '\n  After the pip install, the next save of a .py file of the project (or of wsside.toml, pyproject.toml or ' +
  'vite.config) starts the sidecar again (so does restarting Vite). After the npm install, restart Vite: Node keeps ' +
  'the plugin it loaded until then (saving vite.config does not reload it).'

/**
 * A copy of wsside's Python package (removed when `t` ends) of `version`, speaking `protocol`;
 * `edit(version, protocol)` changes the copy in place (a pip install of another release).
 */
function otherWsside(t, version, protocol) {
  const src = tempFolder(t)
  cpSync(path.join(REPO, 'sidecar', 'wsside'), path.join(src, 'wsside'), {
    recursive: true,
    filter: (file) => !file.includes('__pycache__'),
  })
  const edit = (v, p) => {
    const init = path.join(src, 'wsside', '__init__.py')
    writeFileSync(init, readFileSync(init, 'utf8').replace(/^__version__ = .*$/m, `__version__ = "${v}"`))
    const control = path.join(src, 'wsside', '_edge', 'control.py')
    writeFileSync(control, readFileSync(control, 'utf8').replace(/^PROTOCOL_VERSION = \d+$/m, `PROTOCOL_VERSION = ${p}`))
  }
  edit(version, protocol)
  return { env: { PYTHONPATH: src }, edit }
}

/** Another release line than the plugin's: its minor version plus one. */
function otherLine() {
  const [major, minor] = PLUGIN.version.split('.').map(Number)
  return `${major}.${minor + 1}.0`
}

it('a sidecar of another control protocol: both versions, the commands, and a .py save starts it again', async (t) => {
  const root = makeProject(t)
  const theirs = otherLine()
  const other = otherWsside(t, theirs, PROTOCOL + 1)
  const { vite: server, port, logs } = await startViteFor(t, root, { options: { env: other.env }, waitReady: false })
  const [report] = await logs.waitFor(/control protocol mismatch: [\s\S]*/)
  assert.equal(report,
    `control protocol mismatch: the Python sidecar (wsside ${theirs}) speaks version ${PROTOCOL + 1}, ` +
    `vite-plugin-wsside ${PLUGIN.version} speaks ${PROTOCOL}. Install matching versions of the npm package and the ` +
    `Python package (\`wsside doctor\` shows both): npm install -D 'vite-plugin-wsside@~${theirs}', or ${PYTHON} -m ` +
    `pip install 'wsside==${LINE}.*'.${AFTER}`)
  // "pip install" of the matching release, then a save of a handler file.
  other.edit(PLUGIN.version, PROTOCOL)
  await watcherHears(server, path.join(root, 'ws'))
  const from = logs.lines.length
  writeFileSync(path.join(root, 'ws', 'echo.py'), readFileSync(path.join(root, 'ws', 'echo.py'), 'utf8'))
  await logs.waitFor(/ws\/echo\.py changed: starting the sidecar again/, { from })
  await logs.waitFor(new RegExp(`sidecar ready: pid \\d+, wsside ${PLUGIN.version.replaceAll('.', '\\.')}`), { from })
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('matched')
  assert.equal(await ws.next(), 'matched')
  ws.close()
})

it('another release line of the same protocol: it serves, with one warning at its ready naming both and the commands', async (t) => {
  const root = makeProject(t)
  const theirs = otherLine()
  const other = otherWsside(t, theirs, PROTOCOL)
  const { port, logs } = await startViteFor(t, root, { options: { env: other.env } })
  const warning = `wsside ${theirs} (the Python package) and vite-plugin-wsside ${PLUGIN.version} (the npm package) ` +
    `are of different release lines: install matching versions: npm install -D 'vite-plugin-wsside@~${theirs}', or ` +
    `${PYTHON} -m pip install 'wsside==${LINE}.*'; then restart Vite (\`wsside doctor\` shows both)`
  const at = logs.lines.findIndex((line) => line.includes(warning))
  assert.ok(at >= 0, logs.lines.join('\n'))
  assert.equal(logs.levels[at], 'warn')
  assert.equal(logs.lines.filter((line) => line.includes('different release lines')).length, 1)
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('still serves')
  assert.equal(await ws.next(), 'still serves')
  ws.close()
})

it('the same release line (this wsside) and a Vite in the peer range: no warning about versions', async (t) => {
  const root = makeProject(t)
  const { logs } = await startViteFor(t, root)
  assert.ok(vite.version, 'the Vite under test says its version')
  const said = logs.lines.filter((line) => /different release lines|not one vite-plugin-wsside supports/.test(line))
  assert.deepEqual(said, [])
})

// Vite 7 and later say their version to the hooks (this.meta.viteVersion); older ones are read
// from the project's node_modules. The Vite versions outside the range cannot be installed
// here offline: the plugin's own hook is called as Vite calls it.
for (const [how, version] of [['this.meta', '5.4.0'], ['this.meta', '4.5.3'], ['node_modules/vite', '6.0.8']]) {
  it(`a Vite outside the peer range (${version}, read from ${how}): one warning naming it, the range and the npm command`, (t) => {
    const root = tempFolder(t)
    let context
    if (how === 'this.meta') context = { meta: { viteVersion: version } }
    else {
      mkdirSync(path.join(root, 'node_modules', 'vite'), { recursive: true })
      writeFileSync(path.join(root, 'node_modules', 'vite', 'package.json'), JSON.stringify({ name: 'vite', version }))
    }
    const logs = captureLogger()
    wsside().configResolved.call(context, { command: 'serve', root, logger: logs.logger })
    // The range of its own major when the peer range has one: the whole range would have npm
    // install the newest major.
    const own = PEER.split('||').map((a) => a.trim()).find((a) => a.startsWith(`^${version.split('.')[0]}.`)) ?? PEER
    assert.deepEqual(logs.lines, [`[wsside] Vite ${version} is not one vite-plugin-wsside supports (${PEER}): ` +
      `npm install -D 'vite@${own}' (\`wsside doctor\` shows both)`])
    assert.deepEqual(logs.levels, ['warn'])
  })
}

for (const version of ['5.4.12', '6.4.6', '7.0.0', '8.4.1', '8.0.0-beta.3']) {
  it(`a Vite in the peer range (${version}): no warning`, (t) => {
    const logs = captureLogger()
    wsside().configResolved.call({ meta: { viteVersion: version } }, { command: 'serve', root: tempFolder(t), logger: logs.logger })
    assert.deepEqual(logs.lines, [])
  })
}

// PEP 440 spellings of another line: npm's range starts at `-0` for a pre-release (npm skips
// pre-releases otherwise, and the line may have no other yet).
for (const [tag, npm] of [['0rc1', '0-0'], ['0.post1', '0'], ['0.dev0', '0-0']]) {
  it(`a sidecar of another control protocol at wsside ${otherLine().replace(/0$/, tag)}: the npm command reads its line`, async (t) => {
    const root = makeProject(t)
    const theirs = otherLine().replace(/0$/, tag)
    const other = otherWsside(t, theirs, PROTOCOL + 1)
    const { logs } = await startViteFor(t, root, { options: { env: other.env }, waitReady: false })
    const [report] = await logs.waitFor(/control protocol mismatch: [\s\S]*/)
    assert.ok(report.includes(`(\`wsside doctor\` shows both): npm install -D 'vite-plugin-wsside@~${otherLine().replace(/0$/, npm)}', ` +
      `or ${PYTHON} -m pip install 'wsside==${LINE}.*'.${AFTER}`), report)
  })
}
