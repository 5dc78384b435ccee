// A sidecar that cannot start: a `python` that is no interpreter is named with what chose it,
// as one that is not there is; a sidecar that said why it stopped before its `ready` gets a
// report pointing at what it said, without advice about the interpreter, which ran it well.

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import { openPage, received } from './helpers/page.js'
import { makeProject, startViteFor, tempFolder } from './helpers/project.js'

const ADVICE = ['It ran', 'To choose the interpreter', '`wsside doctor`']

/** Sets `name` in this process's environment (undefined: removes it) until test `t` ends. */
function setEnv(t, name, value) {
  const saved = process.env[name]
  t.after(() => {
    if (saved === undefined) delete process.env[name]
    else process.env[name] = saved
  })
  if (value === undefined) delete process.env[name]
  else process.env[name] = value
}

for (const [kind, make, said] of [
  ['a folder', (folder) => folder, 'is a folder, not an interpreter'],
  ['a file that is not executable', (folder) => {
    const file = path.join(folder, 'python')
    writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 })
    return file
  }, 'cannot be run: it is not executable'],
]) {
  for (const [how, chosenBy] of [['option', 'the `python` option of wsside()'], ['variable', 'the WSSIDE_PYTHON environment variable']]) {
    it(`a \`python\` that is ${kind}, chosen by the ${how}: one report naming it and what chose it`, async (t) => {
      const root = makeProject(t)
      const python = make(tempFolder(t))
      if (how === 'variable') setEnv(t, 'WSSIDE_PYTHON', python)
      const { logs } = await startViteFor(t, root, { options: { python: how === 'option' ? python : undefined }, waitReady: false })
      const [report] = await logs.waitFor(/cannot start the Python sidecar: [\s\S]*/)
      assert.ok(report.startsWith(`cannot start the Python sidecar: ${python} ${said}`), report)
      assert.ok(report.includes(`(chosen by ${chosenBy}).`), report)
      assert.ok(report.includes('To choose the interpreter'), report)
      assert.ok(!logs.lines.some((line) => /sidecar process error|EACCES/.test(line)), logs.lines.join('\n'))
    })
  }
}

for (const [name, value, expected] of [
  ['WSSIDE_JSON', 'bogus', "WSSIDE_JSON='bogus' is not one of auto, json, orjson"],
  ['WSSIDE_LOOP', 'bogus', "WSSIDE_LOOP='bogus' is not one of "],
]) {
  it(`${name}=${value}: the error the sidecar reported is the cause, with no interpreter advice`, async (t) => {
    const root = makeProject(t)
    const { vite, port, logs } = await startViteFor(t, root, { options: { env: { [name]: value } }, waitReady: false })
    const [report] = await logs.waitFor(/the Python sidecar \(pid \d+\) exited with code \d+ before it was ready[\s\S]*/)
    assert.ok(logs.lines.some((line) => line.includes(expected)), logs.lines.join('\n'))
    assert.match(report, /before it was ready, because of the error it reported above, so it is not restarted\.\n {2}Fix it, then save vite\.config or restart Vite/)
    for (const advice of ADVICE) assert.ok(!report.includes(advice), `no ${advice} in: ${report}`)
    // A page shows the cause too, where "above" is its own text.
    const page = await openPage(port)
    const [shown] = await received(vite, page)
    assert.ok(shown.err.message.startsWith(expected), shown.err.message)
    assert.ok(shown.err.message.endsWith(report), shown.err.message)
    page.close()
  })
}

it('the same variable in the environment of Vite: the same report', async (t) => {
  setEnv(t, 'WSSIDE_JSON', 'bogus')
  const { logs } = await startViteFor(t, makeProject(t), { waitReady: false })
  const [report] = await logs.waitFor(/the Python sidecar \(pid \d+\) exited with code \d+ before it was ready[\s\S]*/)
  assert.ok(report.includes('because of the error it reported above'), report)
  for (const advice of ADVICE) assert.ok(!report.includes(advice), `no ${advice} in: ${report}`)
})

