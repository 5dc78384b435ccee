// A helper of the handlers folder that fails to load, seen through a real Vite: Vite's terminal
// says its error once, naming the helper's line and the handler files it kept from loading,
// and an open page's overlay shows it once; once the helper is fixed, the overlay is cleared
// once (the error that stood for the other importers is not shown again meanwhile).

import assert from 'node:assert/strict'
import { unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { openPage, received } from './helpers/page.js'
import { suiteCleanup } from './helpers/cleanup.js'
import { makeProject, startViteFor } from './helpers/project.js'

const GOOD = 'X = 1\n'
const BROKEN = 'X = (\n'
const importer = (name) => `import _shared\nfrom wsside import Handler\n\n${name} = Handler("/${name}")\n`
const IMPORTERS = ['chat', 'game', 'lobby']
const project = () => Object.fromEntries(IMPORTERS.map((name) => [`${name}.py`, importer(name)]))

/** The lines of `logs` from `from` on that report `_shared.py`'s error. */
const reports = (logs, from) => logs.lines.slice(from).filter((line) => /_shared\.py:1\b/.test(line))

/** A sentinel handler file saved now: once it is added, every event of what came before it has
 * been shown (the sidecar applies files in order, and one channel carries its events). */
let sentinels = 0
async function settle(root, logs) {
  const name = `zz${++sentinels}`
  const from = logs.lines.length
  writeFileSync(path.join(root, 'ws', `${name}.py`), importer(name).replace('import _shared\n', ''))
  await logs.waitFor(new RegExp(`added ws/${name}\\.py`), { from })
}

describe('a helper that does not load', () => {
  const owner = suiteCleanup()
  /** The project, its Vite server and logs, and a page kept open from one test to the next. */
  const dev = {}

  it('is reported once at start, naming the handler files that import it', async () => {
    dev.root = makeProject(owner, { '_shared.py': BROKEN, ...project() })
    Object.assign(dev, await startViteFor(owner, dev.root))
    const said = reports(dev.logs, 0)
    assert.equal(said.length, 1, said.join('\n---\n'))
    assert.match(said[0], /^\[wsside\] cannot load ws\/_shared\.py:1 \(so ws\/chat\.py, ws\/game\.py and ws\/lobby\.py did not load\): SyntaxError: /)
  })

  it('is reported once when saved broken, in the terminal and on an open page', async () => {
    writeFileSync(path.join(dev.root, 'ws/_shared.py'), GOOD)
    await settle(dev.root, dev.logs)
    const page = await openPage(dev.port)
    assert.deepEqual(await received(dev.vite, page), [])
    const from = dev.logs.lines.length
    writeFileSync(path.join(dev.root, 'ws/_shared.py'), BROKEN)
    await dev.logs.waitFor(/_shared\.py:1\b/, { from })
    await settle(dev.root, dev.logs)
    const said = reports(dev.logs, from)
    assert.equal(said.length, 1, said.join('\n---\n'))
    assert.match(said[0], /^\[wsside\] cannot load ws\/_shared\.py:1 \(so ws\/chat\.py, ws\/game\.py and ws\/lobby\.py did not load\): SyntaxError: /)
    const shown = await received(dev.vite, page)
    assert.equal(shown.length, 1, JSON.stringify(shown))
    assert.equal(shown[0].type, 'error')
    assert.match(shown[0].err.loc.file, /ws\/_shared\.py$/)
    assert.equal(shown[0].err.loc.line, 1)
    assert.match(shown[0].err.message, /^Load error in ws\/_shared\.py:1 \(so ws\/chat\.py, ws\/game\.py and ws\/lobby\.py did not load\)/)
    page.close()
  })

  it('is cleared once from an open page when fixed, never shown again meanwhile', async () => {
    const page = await openPage(dev.port)
    await received(dev.vite, page) // what stands now
    const from = dev.logs.lines.length
    writeFileSync(path.join(dev.root, 'ws/_shared.py'), GOOD)
    for (const name of IMPORTERS) await dev.logs.waitFor(new RegExp(`reloaded ws/${name}\\.py`), { from })
    await settle(dev.root, dev.logs)
    const shown = await received(dev.vite, page)
    assert.deepEqual(shown.map((m) => m.event ?? m.type), ['wsside:clear-error'], JSON.stringify(shown))
    assert.match(shown[0].data.file, /ws\/_shared\.py$/)
    const later = await openPage(dev.port)
    assert.deepEqual(await received(dev.vite, later), [])
    later.close()
    page.close()
  })

  it('still stands for the importers left when one of them is deleted', async () => {
    writeFileSync(path.join(dev.root, 'ws/_shared.py'), BROKEN)
    const from = dev.logs.lines.length
    await dev.logs.waitFor(/_shared\.py:1\b/, { from })
    const page = await openPage(dev.port)
    assert.equal((await received(dev.vite, page)).length, 1)
    // The first of them, which a shim that knows no `sources` holds the error for.
    unlinkSync(path.join(dev.root, 'ws/chat.py'))
    await dev.logs.waitFor(/removed ws\/chat\.py/, { from })
    await settle(dev.root, dev.logs)
    assert.deepEqual(await received(dev.vite, page), [], 'game.py and lobby.py still do not load')
    const later = await openPage(dev.port)
    const [standing, ...rest] = await received(dev.vite, later)
    assert.deepEqual(rest, [])
    assert.match(standing.err.loc.file, /ws\/_shared\.py$/)
    later.close()
    page.close()
  })
})
