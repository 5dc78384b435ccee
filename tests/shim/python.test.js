// An interpreter the sidecar cannot start in: one report that names it, says how it was
// chosen and how to choose another, in Vite's terminal and on the page; no restart loop.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import path from 'node:path'
import { it } from 'node:test'
import { resolveInterpreter, VENV_FOLDERS } from '../../node_shim/lib/interpreter.js'
import { whyNoWsside } from '../../node_shim/lib/why-no-wsside.js'
import { PROTOCOL_VERSION } from '../../node_shim/lib/protocol.js'
import { PYTHON_FLOOR } from '../../node_shim/lib/interpreter.js'
import { openPage, received } from './helpers/page.js'
import { ECHO, makeProject, PYTHON, removeProject, startViteFor, tempFolder } from './helpers/project.js'
import { upgrade } from './helpers/ws-client.js'

it('an interpreter without wsside: one report naming it, how it was chosen and the ways out; no restarts', async (t) => {
  const root = makeProject(t)
  // The project's interpreter without its site-packages: a Python that lacks wsside.
  const python = path.join(root, 'python-without-wsside')
  writeFileSync(python, `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} -S "$@"\n`, { mode: 0o755 })
  const { vite, port, logs } = await startViteFor(t, root, { options: { python }, waitReady: false })
  const [report] = await logs.waitFor(/cannot start the Python sidecar: [\s\S]*/)
  assert.ok(report.includes(`${python} (chosen by the \`python\` option of wsside()) cannot import wsside`), report)
  for (const wayOut of [`Install wsside for it: \`${python} -m pip install wsside\``, 'the `python` option of wsside()',
    'WSSIDE_PYTHON', '`wsside doctor`', 'Then save vite.config or restart Vite']) {
    assert.ok(report.includes(wayOut), `${wayOut} in: ${report}`)
  }
  // Python's own line once: one start, and no restart after it.
  assert.equal(logs.lines.filter((line) => /No module named wsside/.test(line)).length, 1)
  assert.ok(!logs.lines.some((line) => /restart/.test(line) && !line.includes(report)), logs.lines.join('\n'))
  const started = Date.now()
  const res = await upgrade({ port, path: '/api/echo' })
  assert.equal(res.statusLine, 'HTTP/1.1 503 Service Unavailable')
  assert.ok(Date.now() - started < 2_000)
  // A page opened now shows the same report.
  const page = await openPage(port)
  const [shown] = await received(vite, page)
  assert.equal(shown.err.message, report)
  page.close()
})

it('an empty .venv beside vite.config while the active virtualenv has wsside: only the explanation, naming that one', async (t) => {
  const root = makeProject(t)
  // `python -m venv .venv`, nothing installed: the project's Python without its site-packages.
  mkdirSync(path.join(root, '.venv', 'bin'), { recursive: true })
  const empty = path.join(root, '.venv', 'bin', 'python')
  writeFileSync(empty, `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} -S "$@"\n`, { mode: 0o755 })
  // The virtualenv active in this terminal, which has wsside (the tests' Python).
  const active = tempFolder(t)
  mkdirSync(path.join(active, 'bin'))
  const activePython = path.join(active, 'bin', 'python')
  writeFileSync(activePython, `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} "$@"\n`, { mode: 0o755 })
  const saved = { VIRTUAL_ENV: process.env.VIRTUAL_ENV, WSSIDE_PYTHON: process.env.WSSIDE_PYTHON, DEBUG: process.env.DEBUG }
  t.after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  })
  process.env.VIRTUAL_ENV = active
  delete process.env.WSSIDE_PYTHON
  delete process.env.DEBUG // Python's own line would show at debug
  const { logs } = await startViteFor(t, root, { options: { python: undefined }, waitReady: false })
  const [report] = await logs.waitFor(/cannot start the Python sidecar: [\s\S]*/)
  assert.ok(report.includes(`${empty} (chosen by .venv in the project folder) cannot import wsside.\n  The active virtual ` +
    `environment (VIRTUAL_ENV) has wsside: point WSSIDE_PYTHON or the \`python\` option of wsside() at ${activePython}`), report)
  assert.ok(!logs.lines.some((line) => /No module named/.test(line)), logs.lines.join('\n'))
})

/**
 * A project in a folder named as people name theirs (`My Äpp`) inside `parent`, a temp
 * folder, run with `python`, a Python without wsside (the project's own one, its
 * site-packages left out). Removed, `parent` and all, when `owner` ends (see tempFolder).
 */
function projectWithoutWsside(owner) {
  const parent = tempFolder(owner)
  const root = path.join(parent, 'My Äpp')
  renameSync(makeProject(owner), root)
  const python = path.join(root, 'python without wsside')
  writeFileSync(python, `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} -S "$@"\n`, { mode: 0o755 })
  return { parent, root, python }
}

it('an interpreter without wsside in a folder with a space: the pip command pastes into a shell as it is', async (t) => {
  const { parent, python } = projectWithoutWsside(t)
  const { logs } = await startViteFor(t, path.join(parent, 'My Äpp'), { options: { python }, waitReady: false })
  const [report] = await logs.waitFor(/cannot start the Python sidecar: [\s\S]*/)
  const command = report.split('Install wsside for it: `')[1]?.split('`')[0] ?? ''
  const words = spawnSync('sh', ['-c', `for w in ${command}; do printf '%s\\n' "$w"; done`], { encoding: 'utf8' })
  assert.deepEqual(words.stdout.split('\n').slice(0, -1), [python, '-m', 'pip', 'install', 'wsside'], report)
})

it('a monorepo: the .venv with wsside at the repository root, above vite.config, is named with the option to set', async (t) => {
  const { parent, root, python } = projectWithoutWsside(t)
  // The repository's venv: the tests' Python, which has wsside, under another name.
  mkdirSync(path.join(parent, '.venv', 'bin'), { recursive: true })
  const venv = path.join(parent, '.venv', 'bin', 'python')
  writeFileSync(venv, `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} "$@"\n`, { mode: 0o755 })
  const { logs } = await startViteFor(t, root, { options: { python }, waitReady: false })
  const [report] = await logs.waitFor(/cannot start the Python sidecar: [\s\S]*/)
  assert.ok(report.includes(`cannot import wsside.\n  ${venv} has wsside, but it is not beside vite.config, where the ` +
    "plugin looks: set `python: '../.venv/bin/python'` in wsside() of vite.config."), report)
  assert.ok(!report.includes('pip install'), report)
})

it('a python option naming an interpreter without wsside, beside a .venv with it: the way out is to take the option out', async (t) => {
  const { root, python } = projectWithoutWsside(t)
  // The project's own venv: the tests' Python, which has wsside, under the name the rules find.
  mkdirSync(path.join(root, '.venv', 'bin'), { recursive: true })
  writeFileSync(path.join(root, '.venv', 'bin', 'python'), `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} "$@"\n`, { mode: 0o755 })
  const { logs } = await startViteFor(t, root, { options: { python }, waitReady: false })
  const [report] = await logs.waitFor(/cannot start the Python sidecar: [\s\S]*/)
  assert.ok(report.includes(`${python} (chosen by the \`python\` option of wsside()) cannot import wsside.\n  .venv/bin/python ` +
    'beside vite.config has wsside, and the plugin uses it by itself: take out what chose the interpreter above (the ' +
    '`python` option, or WSSIDE_PYTHON).'), report)
  assert.ok(!report.includes('pip install'), report)
})

it('an empty .venv tried before a venv with wsside: the way out is that folder, which no option names', async (t) => {
  const { root } = projectWithoutWsside(t)
  for (const [folder, args] of [['.venv', ' -S'], ['venv', '']]) {  // -S: no site-packages, so no wsside
    mkdirSync(path.join(root, folder, 'bin'), { recursive: true })
    writeFileSync(path.join(root, folder, 'bin', 'python'), `#!/bin/sh\nexec ${JSON.stringify(PYTHON)}${args} "$@"\n`, { mode: 0o755 })
  }
  const python = path.join(root, '.venv', 'bin', 'python')  // what the rules choose first
  const why = await new Promise((resolve) => whyNoWsside(python, root, 10_000, resolve, false, {}))
  assert.equal(why, ' cannot import wsside.\n  venv/bin/python beside vite.config has wsside, but the plugin tries ' +
    `.venv first: remove or rename .venv (or install wsside there: \`'${python}' -m pip install wsside\`).`)
})

it('a monorepo: the virtual environment beside a handlers folder outside the project is named, relative to vite.config', async (t) => {
  // apps/web is the Vite project; services/realtime the Python project, with its .venv
  // (the tests' Python, which has wsside) beside its handlers folder.
  const top = tempFolder(t)
  const root = path.join(top, 'apps', 'web')
  const service = path.join(top, 'services', 'realtime')
  mkdirSync(root, { recursive: true })
  mkdirSync(path.join(service, 'ws'), { recursive: true })
  mkdirSync(path.join(service, '.venv', 'bin'), { recursive: true })
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>wsside</title>')
  writeFileSync(path.join(service, 'ws', 'echo.py'), ECHO)
  writeFileSync(path.join(service, '.venv', 'bin', 'python'), `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} "$@"\n`, { mode: 0o755 })
  const python = path.join(root, 'python-without-wsside')
  writeFileSync(python, `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} -S "$@"\n`, { mode: 0o755 })
  const { logs } = await startViteFor(t, root, { options: { python, handlers: '../../services/realtime/ws' }, waitReady: false })
  const [report] = await logs.waitFor(/cannot start the Python sidecar: [\s\S]*/)
  const venv = path.join(service, '.venv', 'bin', 'python')
  assert.ok(report.includes(`cannot import wsside.\n  ${venv} has wsside, but it is not beside vite.config, where the ` +
    "plugin looks: set `python: '../../services/realtime/.venv/bin/python'` in wsside() of vite.config."), report)
  // Without the handlers folder, nothing leads there: the install command instead.
  const why = await new Promise((resolve) => whyNoWsside(python, root, 10_000, resolve, false, {}))
  assert.ok(why.includes('Install wsside for it'), why)
})

it('the default python3 without wsside: the way out is a .venv beside vite.config, which the rules find', async (t) => {
  const root = makeProject(t)
  const why = await new Promise((resolve) => whyNoWsside('wsside-test-no-such-python3', root, 2_000, resolve, false))
  assert.equal(why, ' cannot import wsside.\n  Install wsside in a .venv beside vite.config, which the plugin finds ' +
    'by itself: `wsside-test-no-such-python3 -m venv .venv && .venv/bin/pip install wsside`.')
})

/**
 * A real Python older than wsside supports (WSSIDE_OLD_PYTHON, else PY27 or pyenv's 2.7.18, as
 * tests/compliance/run.sh looks for Autobahn's, else one PATH or pyenv has), or null.
 */
function oldPython() {
  const pyenv = path.join(process.env.PYENV_ROOT ?? path.join(homedir(), '.pyenv'), 'versions')
  const candidates = [process.env.WSSIDE_OLD_PYTHON, process.env.PY27, path.join(pyenv, '2.7.18', 'bin', 'python2.7'),
    'python3.9', 'python3.8', 'python2.7', 'python2']
  if (existsSync(pyenv)) {
    for (const v of readdirSync(pyenv)) if (/^(2|3\.[0-9])\./.test(v)) candidates.push(path.join(pyenv, v, 'bin', 'python'))
  }
  for (const python of candidates) {
    if (!python) continue
    const done = spawnSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8', timeout: 30_000 })
    const [major, minor] = (done.stdout ?? '').trim().split('.').map(Number)
    if (done.status === 0 && (major < PYTHON_FLOOR[0] || (major === PYTHON_FLOOR[0] && minor < PYTHON_FLOOR[1]))) {
      return { python, version: `${major}.${minor}` }
    }
  }
  return null
}

const old = oldPython()
const NO_OLD_PYTHON = "no Python older than 3.10 here (pyenv's 2.7.18, which the conformance run uses, or WSSIDE_OLD_PYTHON=/path/to/python)"

// Skipped without one, but failed under CI (the CI variable set), which has pyenv's 2.7.18.
it('an interpreter older than wsside supports: says so, and does not advise installing wsside for it', { skip: !old && !process.env.CI && NO_OLD_PYTHON }, async (t) => {
  assert.ok(old, `${NO_OLD_PYTHON}; CI must have it`)
  const root = makeProject(t)
  const { python, version } = /** @type {{ python: string, version: string }} */ (old)
  const { logs } = await startViteFor(t, root, { options: { python }, waitReady: false })
  const [report] = await logs.waitFor(/cannot start the Python sidecar: [\s\S]*/)
  const floor = PYTHON_FLOOR.join('.')
  assert.ok(report.includes(`(chosen by the \`python\` option of wsside()) is Python ${version}, and wsside needs Python ${floor} or later`), report)
  assert.ok(report.includes(`Choose a Python ${floor} or later that has wsside installed`), report)
  assert.ok(report.includes('Then save vite.config or restart Vite'), report)
  assert.ok(!report.includes('Install wsside for it'), report)
})

it('a handler file whose import ends the sidecar before it is ready is named, and not restarted', async (t) => {
  // os._exit prints nothing: without the file's name, nothing would point at it.
  const root = makeProject(t, { 'echo.py': ECHO, 'exits.py': 'import os\n\nos._exit(3)\n' })
  const { logs } = await startViteFor(t, root, { waitReady: false })
  const [report] = await logs.waitFor(/the Python sidecar \(pid \d+\) exited with code 3 while importing ws\/exits\.py before it was ready[\s\S]*/)
  assert.ok(report.includes('so it is not restarted: that file (or what it imports) ended the process.\n  Fix it: ' +
    'the next save of a .py file of the project (or of wsside.toml, pyproject.toml or vite.config) starts the sidecar again'), report)
  assert.ok(!report.includes('It ran'), report)
  assert.ok(!logs.lines.some((line) => /restarting in/.test(line)), logs.lines.join('\n'))
})

it('a handler file saved so that its import ends the sidecar is named in each restart line', async (t) => {
  const root = makeProject(t, { 'echo.py': ECHO })
  const { logs } = await startViteFor(t, root)
  writeFileSync(path.join(root, 'ws', 'boom.py'), 'import os\n\nos._exit(5)\n')
  await logs.waitFor(/the sidecar \(pid \d+\) exited with code 5 while importing ws\/boom\.py; restarting in \d+ ms/)
})

/**
 * A stand-in sidecar (given as the `python` option) that sends `events` over the control
 * channel, then exits with code 2, as a sidecar that found its config invalid at start.
 */
function failingSidecar(root, events) {
  const file = path.join(root, 'failing-sidecar')
  const lines = events.map((e) => JSON.stringify(JSON.stringify({ wsside: PROTOCOL_VERSION, ...e }) + '\n'))
  writeFileSync(file, `#!${PYTHON}
import os, socket
channel = socket.socket(fileno=int(os.environ["NODE_CHANNEL_FD"]))
for line in [${lines.join(', ')}]:
    channel.sendall(line.encode())
os._exit(2)
`, { mode: 0o755 })
  return file
}

it('a sidecar that exits before it is ready after reporting a config error: that error is the cause, no interpreter advice', async (t) => {
  const root = makeProject(t)
  const toml = path.join(root, 'wsside.toml')
  const python = failingSidecar(root, [
    { type: 'config_error', file: toml, line: 1, column: null, key: 'prefx', message: 'key "prefx": unknown key' },
  ])
  const { logs } = await startViteFor(t, root, { options: { python }, waitReady: false })
  await logs.waitFor(/invalid config in wsside\.toml:1: key "prefx": unknown key/)
  const [report] = await logs.waitFor(/the Python sidecar \(pid \d+\) exited with code 2 before it was ready[\s\S]*/)
  assert.match(report, /exited with code 2 before it was ready, because of the error in wsside\.toml above, so it is not restarted\.\n {2}Fix it: the next save of a \.py file of the project \(or of wsside\.toml, pyproject\.toml or vite\.config\) starts the sidecar again/)
  for (const advice of ['It ran', 'To choose the interpreter', '`wsside doctor`']) {
    assert.ok(!report.includes(advice), `no ${advice} in: ${report}`)
  }
})

it('a config error fixed before the sidecar exits is not called the cause: the interpreter advice stays', async (t) => {
  const root = makeProject(t)
  const toml = path.join(root, 'wsside.toml')
  const python = failingSidecar(root, [
    { type: 'config_error', file: toml, line: 1, column: null, key: 'prefx', message: 'key "prefx": unknown key' },
    { type: 'config_ok', file: toml },
  ])
  const { logs } = await startViteFor(t, root, { options: { python }, waitReady: false })
  const [report] = await logs.waitFor(/the Python sidecar \(pid \d+\) exited with code 2 before it was ready[\s\S]*/)
  assert.ok(report.includes('so it is not restarted: see its output above'), report)
  assert.ok(report.includes(`It ran ${python} (chosen by the \`python\` option of wsside())`), report)
})

it('says how each interpreter rule chose the interpreter', (t) => {
  const root = makeProject(t)
  for (const venv of ['.venv', 'venv', 'active']) {
    mkdirSync(path.join(root, venv, 'bin'), { recursive: true })
    writeFileSync(path.join(root, venv, 'bin', 'python'), '')
  }
  const chosen = (option, env) => resolveInterpreter(root, option, env, false).chosenBy
  assert.equal(chosen('python3.12', {}), 'the `python` option of wsside()')
  assert.equal(chosen(undefined, { WSSIDE_PYTHON: '/usr/bin/python3' }), 'the WSSIDE_PYTHON environment variable')
  assert.equal(chosen(undefined, {}), '.venv in the project folder')
  removeProject(path.join(root, '.venv'))
  assert.equal(chosen(undefined, {}), 'venv in the project folder')
  removeProject(path.join(root, 'venv'))
  assert.equal(chosen(undefined, { VIRTUAL_ENV: path.join(root, 'active') }), 'the virtual environment in VIRTUAL_ENV')
  assert.match(chosen(undefined, {}), /^the default, python3 on PATH: /)
})

it("the virtual-environment folders Vite's watcher skips are those the interpreter rules look in", (t) => {
  const root = makeProject(t)
  assert.deepEqual(VENV_FOLDERS, ['.venv', 'venv'])
  for (const venv of VENV_FOLDERS) {
    mkdirSync(path.join(root, venv, 'bin'), { recursive: true })
    writeFileSync(path.join(root, venv, 'bin', 'python'), '')
    assert.deepEqual(resolveInterpreter(root, undefined, {}, false), { python: path.join(root, venv, 'bin', 'python'),
      rule: venv, chosenBy: `${venv} in the project folder` })
    removeProject(path.join(root, venv))
  }
})
