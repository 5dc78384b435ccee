// A .venv beside vite.config that cannot give the sidecar wsside although it was made for it:
// its interpreter is a broken link (the base Python was removed), it was made by `uv venv`
// (no pip), or its base Python moved to another minor version (its packages are in the old
// lib/pythonX.Y). Vite's report says which, with a command that works. Real venvs, real Vite.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, readdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import path from 'node:path'
import { it } from 'node:test'
import { PYTHON_FLOOR } from '../../node_shim/lib/interpreter.js'
import { whyNoWsside } from '../../node_shim/lib/why-no-wsside.js'
import { environment } from './helpers/environment.js'
import { makeProject, PYTHON, startViteFor, tempFolder } from './helpers/project.js'

/** @param {string} python @param {string[]} args */
function run(python, args, cwd = undefined) {
  const done = spawnSync(python, args, { encoding: 'utf8', timeout: 60_000, cwd })
  assert.equal(done.status, 0, `${python} ${args.join(' ')}: ${done.stderr}`)
  return done.stdout.trim()
}

/** The report of a sidecar that could not start, with the plugin's own choice of interpreter. */
async function report(t, root) {
  const { logs } = await startViteFor(t, root, { options: { python: undefined }, waitReady: false })
  const [text] = await logs.waitFor(/cannot start the Python sidecar: [\s\S]*/)
  return text
}

it('a .venv whose interpreter link is broken: says it is there but its interpreter is gone, and how to make it again', async (t) => {
  const root = makeProject(t)
  // A real venv, then its base Python removed: python -> python3.12 -> a path that is gone.
  run(PYTHON, ['-m', 'venv', '--without-pip', path.join(root, '.venv')])
  const gone = path.join(tempFolder(t), 'removed', 'python3.12')
  const bin = path.join(root, '.venv', 'bin')
  for (const name of readdirSync(bin).filter((n) => n.startsWith('python'))) unlinkSync(path.join(bin, name))
  symlinkSync(gone, path.join(bin, 'python3.12'))
  symlinkSync('python3.12', path.join(bin, 'python'))
  // python3 on PATH, which the rules fall back to, lacks wsside (the tests' Python without
  // its site-packages).
  const shims = tempFolder(t)
  writeFileSync(path.join(shims, 'python3'), `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} -S "$@"\n`, { mode: 0o755 })
  environment(t, { PATH: `${shims}${path.delimiter}${process.env.PATH}` })
  const text = await report(t, root)
  const command = 'python3 -m venv --clear .venv && .venv/bin/python -m pip install wsside'
  assert.ok(text.includes('python3 (chosen by the default, python3 on PATH: no option, variable or virtual environment ' +
    'named another) cannot import wsside.\n  The .venv beside vite.config is there, but its interpreter is gone: ' +
    `.venv/bin/python links to ${gone}, which does not exist, so the plugin passed it by. Make it again, then install ` +
    `wsside and the packages it had: \`${command}\`.`), text)
  assert.ok(!text.includes('python3 -m venv .venv '), text)
  // Its first half works on that folder (the second would fetch wsside).
  const make = command.split(' && ')[0]
  run('sh', ['-c', make], root)
  assert.match(run(path.join(bin, 'python'), ['-c', 'import sys; print(sys.prefix)']), /\.venv$/)
})

it('a .venv made by uv venv (no pip) without wsside: the install command is uv pip install --python', async (t) => {
  const root = makeProject(t)
  const venv = path.join(root, '.venv')
  // What `uv venv` makes, as far as telling it apart goes: no pip, and a `uv = ` line.
  run(PYTHON, ['-m', 'venv', '--without-pip', venv])
  appendFileSync(path.join(venv, 'pyvenv.cfg'), 'uv = 0.13.9\n')
  const python = path.join(venv, 'bin', 'python')
  environment(t)
  const text = await report(t, root)
  assert.ok(text.includes(`${python} (chosen by .venv in the project folder) cannot import wsside.\n  Install wsside ` +
    `for it: \`uv pip install --python ${python} wsside\`, or choose an interpreter that has it.`), text)
  assert.ok(!text.includes('-m pip'), text)
})

/**
 * Another real Python (its executable and major.minor) of a minor version wsside supports
 * other than `than`'s, from PATH or pyenv; or null.
 * @param {string} than major.minor
 */
function otherPython(than) {
  const pyenv = path.join(process.env.PYENV_ROOT ?? path.join(homedir(), '.pyenv'), 'versions')
  const candidates = ['python3.13', 'python3.12', 'python3.11', 'python3.10', 'python3.14']
  if (existsSync(pyenv)) for (const v of readdirSync(pyenv)) candidates.push(path.join(pyenv, v, 'bin', 'python3'))
  for (const python of candidates) {
    const done = spawnSync(python, ['-c', 'import sys; print(sys.executable); print("%d.%d" % sys.version_info[:2])'],
      { encoding: 'utf8', timeout: 30_000 })
    const [executable, version] = (done.stdout ?? '').trim().split('\n')
    const [major, minor] = (version ?? '').split('.').map(Number)
    if (done.status === 0 && version !== than && major === PYTHON_FLOOR[0] && minor >= PYTHON_FLOOR[1]) {
      return { executable, version }
    }
  }
  return null
}

const [base, baseVersion] = run(PYTHON, ['-c', 'import sys; print(sys._base_executable); print("%d.%d" % sys.version_info[:2])'])
  .split('\n')
const other = otherPython(baseVersion)

it('a .venv whose base python3 moved to another minor version: says so, and how to make it again', { skip: !other && 'no second Python 3.10 or later here' }, async (t) => {
  const { executable, version } = /** @type {{ executable: string, version: string }} */ (other)
  const root = makeProject(t)
  // Made from a `python3` link, as a system's is, that points at this Python's base...
  const links = tempFolder(t)
  const python3 = path.join(links, 'python3')
  symlinkSync(base, python3)
  const venv = path.join(root, '.venv')
  run(python3, ['-m', 'venv', '--without-pip', venv])
  // ... with wsside in its site-packages (this Python's, through a .pth file) ...
  const mine = run(PYTHON, ['-c', "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
  const purelib = run(path.join(venv, 'bin', 'python'), ['-c', "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
  mkdirSync(purelib, { recursive: true })
  writeFileSync(path.join(purelib, 'wsside-test.pth'), `import site; site.addsitedir(${JSON.stringify(mine)})\n`)
  run(path.join(venv, 'bin', 'python'), ['-c', 'import wsside'])
  // ... then the link repointed, as an upgrade of the system's Python does.
  unlinkSync(python3)
  symlinkSync(executable, python3)
  const made = run(path.join(venv, 'bin', 'python'), ['-c', 'import sys; print(sys.version.split()[0])'])
  assert.ok(made.startsWith(`${version}.`), made)
  const cfg = spawnSync('grep', ['^version = ', path.join(venv, 'pyvenv.cfg')], { encoding: 'utf8' }).stdout.trim()
  environment(t)
  const text = await report(t, root)
  assert.ok(text.includes(`${path.join(venv, 'bin', 'python')} (chosen by .venv in the project folder) cannot import ` +
    `wsside.\n  Its virtual environment, .venv, was made with Python ${baseVersion} (its pyvenv.cfg says ${cfg}), but ` +
    `its interpreter now runs Python ${version}, so the packages installed for ${baseVersion} are not seen. Make it ` +
    'again, then install wsside and the packages it had: ' +
    '`python3 -m venv --clear .venv && .venv/bin/python -m pip install wsside`.'), text)
  assert.ok(!text.includes('Install wsside for it'), text)
})

it('a broken .venv is not named when the interpreter was not the rules\' choice past it (an option or WSSIDE_PYTHON)', async (t) => {
  const root = makeProject(t)
  mkdirSync(path.join(root, '.venv', 'bin'), { recursive: true })
  symlinkSync(path.join(tempFolder(t), 'removed', 'python3.12'), path.join(root, '.venv', 'bin', 'python'))
  const python = path.join(root, 'python-without-wsside')
  writeFileSync(python, `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} -S "$@"\n`, { mode: 0o755 })
  for (const env of [{}, { WSSIDE_PYTHON: python }]) {
    const why = await new Promise((resolve) => whyNoWsside(python, root, 10_000, resolve, false, env))
    assert.equal(why, ` cannot import wsside.\n  Install wsside for it: \`${python} -m pip install wsside\`, or choose an ` +
      'interpreter that has it.')
  }
})
