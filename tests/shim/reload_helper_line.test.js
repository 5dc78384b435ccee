// A handler file that a helper's save reloaded says which helper, in Vite's terminal: the
// helper's module-level state started afresh too (a dict of players is empty again), and this
// line is where a newcomer learns why the file reloaded. A file saved itself says nothing more.

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import { showEvent } from '../../node_shim/lib/events.js'
import { createReporter } from '../../node_shim/lib/report.js'
import { StandingErrors } from '../../node_shim/lib/standing-errors.js'
import { captureLogger, makeProject, startViteFor } from './helpers/project.js'

const handler = (name, imports = '') => `${imports}from wsside import Handler\n\n${name} = Handler("/ws/${name}")\n`

it("a helper's save names the helper in the line of each file it reloaded, not in a file's own save", async (t) => {
  const root = makeProject(t, {
    '_state.py': 'players = {}\n',
    'game.py': handler('game', 'import _state\n'),
    'echo.py': handler('echo'),
  })
  const { logs } = await startViteFor(t, root)
  let from = logs.lines.length
  writeFileSync(path.join(root, 'ws', '_state.py'), "players = {'ada': 1}\n")
  await logs.waitFor(/reloaded ws\/game\.py/, { from })
  const said = logs.lines.slice(from).filter((line) => line.includes('reloaded'))
  assert.equal(said.length, 1, said.join('\n'))
  assert.match(said[0], /^\[wsside\] reloaded ws\/game\.py \(\/ws\/game\) in \d+ ms: it imports ws\/_state\.py, which changed$/)

  from = logs.lines.length
  writeFileSync(path.join(root, 'ws', 'game.py'), `${handler('game', 'import _state\n')}# saved\n`)
  await logs.waitFor(/^\[wsside\] reloaded ws\/game\.py \(\/ws\/game\) in \d+ ms$/, { from })
})

it('several helpers are named in one line, past three counted', () => {
  const logs = captureLogger()
  const reporter = createReporter({ logger: logs.logger, root: '/p' })
  const to = { reporter, standing: new StandingErrors(() => reporter), cwd: '/p', info: null }
  const helpers = ['_a', '_b', '_c', '_d', '_e'].map((name) => `/p/ws/${name}.py`)
  const reloaded = (file, because) => ({ type: 'reloaded', file, patterns: ['/ws/game'], ms: 12.3, because })
  showEvent(reloaded('/p/ws/game.py', helpers.slice(0, 2)), to)
  showEvent(reloaded('/p/ws/game.py', helpers.slice(0, 3)), to)
  showEvent(reloaded('/p/ws/game.py', helpers), to)
  showEvent(reloaded('/p/ws/game.py', []), to)
  assert.deepEqual(logs.lines, [
    '[wsside] reloaded ws/game.py (/ws/game) in 12 ms: it imports ws/_a.py and ws/_b.py, which changed',
    '[wsside] reloaded ws/game.py (/ws/game) in 12 ms: it imports ws/_a.py, ws/_b.py and ws/_c.py, which changed',
    '[wsside] reloaded ws/game.py (/ws/game) in 12 ms: it imports ws/_a.py, ws/_b.py, ws/_c.py and 2 more, which changed',
    '[wsside] reloaded ws/game.py (/ws/game) in 12 ms',
  ])
})
