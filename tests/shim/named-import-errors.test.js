// A handler file that other handler files import by its name (`from common import X`, a file
// without handlers named like a handler file), broken, seen through a real Vite: its error is
// reported once, as its own, naming the files it kept from loading; once it is fixed, they
// load again and an open page's overlay is cleared once.

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { openPage, received } from './helpers/page.js'
import { suiteCleanup } from './helpers/cleanup.js'
import { makeProject, startViteFor } from './helpers/project.js'

const importer = (name) => `from common import X\nfrom wsside import Handler\n\n${name} = Handler("/${name}")\n`

describe('a handler file imported by name that does not load', () => {
  const owner = suiteCleanup()

  it('is reported once, as its own, and cleared once when fixed', async () => {
    const root = makeProject(owner, { 'common.py': 'X = (\n', 'chat.py': importer('chat'), 'game.py': importer('game') })
    const { vite, logs, port } = await startViteFor(owner, root)
    const said = logs.lines.filter((line) => /common\.py:1\b/.test(line))
    assert.equal(said.length, 1, said.join('\n---\n'))
    assert.match(said[0], /^\[wsside\] cannot load ws\/common\.py:1 \(so ws\/chat\.py and ws\/game\.py did not load\): SyntaxError: /)

    const page = await openPage(port)
    const standing = await received(vite, page)
    assert.equal(standing.length, 1, JSON.stringify(standing))
    assert.match(standing[0].err.loc.file, /ws\/common\.py$/)
    const from = logs.lines.length
    writeFileSync(path.join(root, 'ws/common.py'), 'X = 1\n')
    for (const name of ['chat', 'game']) await logs.waitFor(new RegExp(`added ws/${name}\\.py`), { from })
    const shown = await received(vite, page)
    assert.deepEqual(shown.map((m) => m.event ?? m.type), ['wsside:clear-error'], JSON.stringify(shown))
    assert.match(shown[0].data.file, /ws\/common\.py$/)
    const later = await openPage(port)
    assert.deepEqual(await received(vite, later), [])
    later.close()
    page.close()
  })
})
