// An interpreter the sidecar cannot start in: one report that names it, says how it was
// chosen and how to choose another, in Vite's terminal and on the page; no restart loop.

import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import { resolveInterpreter } from '../../node_shim/lib/interpreter.js'
import { openPage, received } from './helpers/page.js'
import { makeProject, PYTHON, removeProject, startVite } from './helpers/project.js'
import { upgrade } from './helpers/ws-client.js'

it('an interpreter without wsside: one report naming it, how it was chosen and the ways out; no restarts', async () => {
  const root = makeProject()
  // The project's interpreter without its site-packages: a Python that lacks wsside.
  const python = path.join(root, 'python-without-wsside')
  writeFileSync(python, `#!/bin/sh\nexec ${JSON.stringify(PYTHON)} -S "$@"\n`, { mode: 0o755 })
  const { vite, port, logs } = await startVite(root, { options: { python }, waitReady: false })
  try {
    const [report] = await logs.waitFor(/cannot start the Python sidecar: [\s\S]*/)
    assert.ok(report.includes(`${python} (chosen by the \`python\` option of wsside()) cannot import wsside`), report)
    for (const wayOut of ['the `python` option of wsside()', 'WSSIDE_PYTHON', '`wsside doctor`']) {
      assert.ok(report.includes(wayOut), `${wayOut} in: ${report}`)
    }
    // Python's own line once: one start, and no restart after it.
    assert.equal(logs.lines.filter((line) => /No module named wsside/.test(line)).length, 1)
    assert.ok(!logs.lines.some((line) => /restart/.test(line) && line !== report), logs.lines.join('\n'))
    const started = Date.now()
    const res = await upgrade({ port, path: '/api/echo' })
    assert.equal(res.statusLine, 'HTTP/1.1 503 Service Unavailable')
    assert.ok(Date.now() - started < 2_000)
    // A page opened now shows the same report.
    const page = await openPage(port)
    const [shown] = await received(vite, page)
    assert.equal(shown.err.message, report)
    page.close()
  } finally {
    await vite.close()
    removeProject(root)
  }
})

it('a sidecar that exits before it is ready is reported once, with the interpreter, and not restarted', async () => {
  const root = makeProject({ 'exits.py': 'import os\n\nos._exit(3)\n' })
  const { vite, logs } = await startVite(root, { waitReady: false })
  try {
    const [report] = await logs.waitFor(/the Python sidecar \(pid \d+\) exited with code 3 before it was ready[\s\S]*/)
    assert.ok(report.includes('so it is not restarted'), report)
    assert.ok(report.includes(`It ran ${PYTHON} (chosen by the \`python\` option of wsside())`), report)
    assert.ok(report.includes('`wsside doctor`'), report)
    assert.ok(!logs.lines.some((line) => /restarting in/.test(line)), logs.lines.join('\n'))
  } finally {
    await vite.close()
    removeProject(root)
  }
})

it('says how each interpreter rule chose the interpreter', () => {
  const root = makeProject()
  try {
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
  } finally {
    removeProject(root)
  }
})
