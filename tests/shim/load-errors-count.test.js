// Several handler files that do not load, as the overlay and Vite's terminal show them: the
// overlay shows one error at a time, so it says how many more stand, and where; the terminal
// has each in full. A file that failed at start and is fixed is `added`, with its patterns, as
// a new file is (it never served before).

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import { openPage, received } from './helpers/page.js'
import { connectWs } from './helpers/ws-client.js'
import { ECHO, makeProject, startViteFor } from './helpers/project.js'

const broken = (/** @type {string} */ name) =>
  `from wsside import Handler\n\n${name} = Handler("/${name}")\n\nraise RuntimeError("${name} is broken")\n`
const fixed = (/** @type {string} */ name) => ECHO.replace('"/echo"', `"/${name}"`).replace('echo =', `${name} =`)
  .replace('@echo.', `@${name}.`)

it('the overlay counts and names the other load errors that stand; a file fixed after a failed start is added', async (t) => {
  const root = makeProject(t, {
    'chat.py': fixed('chat'),
    'echo.py': broken('echo'),
    'feed.py': broken('feed'),
    'presence.py': broken('presence'),
  })
  writeFileSync(path.join(root, 'wsside.toml'), 'prefix = "/api"\n')
  const { vite, port, logs } = await startViteFor(t, root)
  // The terminal: each error in full, as before.
  for (const name of ['echo', 'feed', 'presence']) {
    await logs.waitFor(new RegExp(`cannot load ws/${name}\\.py:5: RuntimeError: ${name} is broken`))
  }

  // A page opened now shows the last error sent, which names the two others.
  const page = await openPage(port)
  const errors = (await received(vite, page)).filter((m) => m.type === 'error')
  assert.equal(errors.at(-1)?.err.message, 'Load error in ws/presence.py:5: RuntimeError: presence is broken ' +
    '(and 2 more load errors: ws/echo.py, ws/feed.py)')
  assert.match(errors.at(-1)?.err.loc.file, /ws\/presence\.py$/)

  // presence.py fixed: it is added, with its pattern, and serves; the open page is shown the
  // newest error that still stands, naming the one left.
  let from = logs.lines.length
  writeFileSync(path.join(root, 'ws', 'presence.py'), fixed('presence'))
  const [added] = await logs.waitFor(/(added|reloaded) ws\/presence\.py.*/, { from })
  assert.match(added, /^added ws\/presence\.py \(\/presence\) in \d+ ms$/, logs.lines.slice(from).join('\n'))
  const after = await received(vite, page)
  assert.deepEqual(after.map((m) => m.event ?? m.type), ['wsside:clear-error', 'error'], JSON.stringify(after))
  assert.equal(after[1].err.message, 'Load error in ws/feed.py:5: RuntimeError: feed is broken ' +
    '(and 1 more load error: ws/echo.py)')
  const ws = await connectWs({ port, path: '/api/presence' })
  ws.send('here')
  assert.equal(await ws.next(), 'here')
  ws.close()

  // The last one standing says no more.
  from = logs.lines.length
  writeFileSync(path.join(root, 'ws', 'feed.py'), fixed('feed'))
  await logs.waitFor(/added ws\/feed\.py \(\/feed\)/, { from })
  const last = (await received(vite, page)).filter((m) => m.type === 'error')
  assert.equal(last.at(-1)?.err.message, 'Load error in ws/echo.py:5: RuntimeError: echo is broken')
  page.close()
})
