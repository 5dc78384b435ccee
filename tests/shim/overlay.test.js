// Python errors in the browser's error overlay, seen through a real Vite's HMR socket (what a
// page's Vite client gets): errors that still stand reach pages opened later, fixed ones do
// not, and `overlay: false` keeps them out.

import assert from 'node:assert/strict'
import { unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import wsside from 'vite-plugin-wsside'
import { openPage, received } from './helpers/page.js'
import { ECHO, makeProject, removeProject, startVite } from './helpers/project.js'

const BROKEN = 'from wsside import Handler\n\nbroken = Handler("/broken")\n\nraise RuntimeError("boom at import")\n'
const FIXED = 'from wsside import Handler\n\nbroken = Handler("/broken")\n'

describe('overlay', () => {
  let root, vite, port, logs

  before(async () => {
    root = makeProject({ 'echo.py': ECHO, 'broken.py': BROKEN })
    writeFileSync(path.join(root, 'wsside.toml'), 'prefix = "/api"\n')
    ;({ vite, port, logs } = await startVite(root))
    await logs.waitFor(/cannot load ws\/broken\.py:5: RuntimeError: boom at import/)
  })

  after(async () => {
    await vite?.close()
    removeProject(root)
  })

  it('shows an error that stands to a page opened later, with its Python location', async () => {
    const page = await openPage(port)
    const [shown, ...rest] = await received(vite, page)
    assert.deepEqual(rest, [])
    assert.equal(shown.type, 'error')
    assert.equal(shown.err.plugin, 'wsside')
    assert.match(shown.err.message, /RuntimeError: boom at import/)
    assert.match(shown.err.loc.file, /ws\/broken\.py$/)
    assert.equal(shown.err.loc.line, 5)
    page.close()
  })

  it('takes the error off the overlay of an open page once the file is fixed', async () => {
    const page = await openPage(port)
    assert.equal((await received(vite, page)).length, 1)
    const from = logs.lines.length
    writeFileSync(path.join(root, 'ws', 'broken.py'), FIXED)
    await logs.waitFor(/reloaded ws\/broken\.py/, { from })
    const [cleared, ...rest] = await received(vite, page)
    assert.deepEqual(rest, [])
    assert.equal(cleared.event, 'wsside:clear-error')
    assert.match(cleared.data.file, /ws\/broken\.py$/)
    page.close()
  })

  it('shows a page opened after a fix no fixed error, though the error came while no page was open', async () => {
    let from = logs.lines.length
    writeFileSync(path.join(root, 'ws', 'broken.py'), BROKEN)
    await logs.waitFor(/cannot load ws\/broken\.py:5/, { from })
    from = logs.lines.length
    writeFileSync(path.join(root, 'ws', 'broken.py'), FIXED)
    await logs.waitFor(/reloaded ws\/broken\.py/, { from })
    const page = await openPage(port)
    assert.deepEqual(await received(vite, page), [])
    page.close()
  })

  it('clears an error in a helper once the helper is fixed, though the overlay names the helper', async () => {
    let from = logs.lines.length
    writeFileSync(path.join(root, 'ws', '_util.py'), 'X = (\n')
    writeFileSync(path.join(root, 'ws', 'uses.py'),
      'from _util import X\nfrom wsside import Handler\n\nuses = Handler("/uses")\n')
    await logs.waitFor(/cannot load ws\/_util\.py:1/, { from })
    const page = await openPage(port)
    const [shown] = await received(vite, page)
    assert.match(shown?.err?.loc?.file ?? '', /ws\/_util\.py$/)
    from = logs.lines.length
    writeFileSync(path.join(root, 'ws', '_util.py'), 'X = 3\n')
    await logs.waitFor(/reloaded ws\/uses\.py \(\/uses\)/, { from })
    const [cleared, ...rest] = await received(vite, page)
    assert.deepEqual(rest, [])
    assert.equal(cleared.event, 'wsside:clear-error')
    assert.match(cleared.data.file, /ws\/_util\.py$/)
    page.close()
    const later = await openPage(port)
    assert.deepEqual(await received(vite, later), [])
    later.close()
  })

  it('takes the error of a file that never loaded away when the file is deleted', async () => {
    let from = logs.lines.length
    writeFileSync(path.join(root, 'ws', 'draft.py'), 'def x(:\n')
    await logs.waitFor(/cannot load ws\/draft\.py:1/, { from })
    from = logs.lines.length
    unlinkSync(path.join(root, 'ws', 'draft.py'))
    await logs.waitFor(/removed ws\/draft\.py/, { from })
    const page = await openPage(port)
    assert.deepEqual(await received(vite, page), [])
    page.close()
  })

  it('does the same for an error in wsside.toml, fixed before a page opens', async () => {
    let from = logs.lines.length
    writeFileSync(path.join(root, 'wsside.toml'), 'prefix = 5\n')
    await logs.waitFor(/invalid config in wsside\.toml/, { from })
    const early = await openPage(port)
    assert.match((await received(vite, early))[0]?.err?.message ?? '', /Config error in wsside\.toml/)
    early.close()
    from = logs.lines.length
    writeFileSync(path.join(root, 'wsside.toml'), 'prefix = "/api"\n')
    await logs.waitFor(/wsside\.toml changed, nothing to restart/, { from })
    const page = await openPage(port)
    assert.deepEqual(await received(vite, page), [])
    page.close()
  })
})

it('overlay: false keeps Python errors out of the browser, not out of the terminal', async () => {
  const root = makeProject({ 'echo.py': ECHO, 'broken.py': BROKEN })
  const { vite, port, logs } = await startVite(root, { options: { overlay: false } })
  try {
    await logs.waitFor(/cannot load ws\/broken\.py:5: RuntimeError: boom at import/)
    const page = await openPage(port)
    assert.deepEqual(await received(vite, page), [])
    const from = logs.lines.length
    writeFileSync(path.join(root, 'ws', 'broken.py'), BROKEN.replace('boom', 'bang'))
    await logs.waitFor(/cannot load ws\/broken\.py:5: RuntimeError: bang at import/, { from })
    assert.deepEqual(await received(vite, page), [])
    const html = await (await fetch(`http://127.0.0.1:${port}/`)).text()
    assert.ok(!html.includes('wsside:clear-error'), 'no overlay script in the page')
    page.close()
  } finally {
    await vite.close()
    removeProject(root)
  }
})

it('overlay takes true or false only', () => {
  assert.throws(() => wsside({ overlay: 'no' }), /option `overlay` must be true or false, got "no"/)
})

it('an option of the JavaScript plugin, or a handler option, says where it lives now', () => {
  assert.throws(() => wsside({ endpointPrefix: '/api' }), /option `endpointPrefix`: it is `prefix` here/)
  assert.throws(() => wsside({ heartbeat: 30000 }),
    /option `heartbeat`: a handler option: heartbeat= in Handler\(\.\.\.\) in Python, or heartbeat under \[defaults\] in wsside\.toml \(seconds\)/)
  assert.throws(() => wsside({ defaultRoom: 'lobby' }), /option `defaultRoom`: a handler option: default_room= in Handler/)
  assert.throws(() => wsside({ prefx: '/api' }), /unknown option `prefx`; did you mean `prefix`\? \(known: prefix, handlers/)
})
