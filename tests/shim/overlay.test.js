// Python errors in the browser's error overlay, seen through a real Vite's HMR socket (what a
// page's Vite client gets): errors that still stand reach pages opened later, fixed ones do
// not, and `overlay: false` keeps them out. A callback's error again within 5 s is counted in
// Vite's terminal, until a save or a restart replaces its file's code (lib/repeats.js).

import assert from 'node:assert/strict'
import { unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { before, describe, it } from 'node:test'
import wsside from 'vite-plugin-wsside'
import { openPage, received } from './helpers/page.js'
import { connectWs } from './helpers/ws-client.js'
import { suiteCleanup } from './helpers/cleanup.js'
import { ECHO, makeProject, startViteFor } from './helpers/project.js'

const BROKEN = 'from wsside import Handler\n\nbroken = Handler("/broken")\n\nraise RuntimeError("boom at import")\n'
const FIXED = 'from wsside import Handler\n\nbroken = Handler("/broken")\n'

/**
 * A dev server on a throw-away project whose ws/broken.py fails at import; both are gone
 * when `owner` ends (a test's context or a suiteCleanup(): helpers/cleanup.js).
 */
class Dev {
  constructor(owner) {
    this.owner = owner
  }

  /** Makes the project (with `toml` as its wsside.toml), starts Vite with the plugin's
   * `options` and waits for broken.py's error. */
  async start({ toml, options } = {}) {
    this.root = makeProject(this.owner, { 'echo.py': ECHO, 'broken.py': BROKEN })
    if (toml !== undefined) this.write('wsside.toml', toml)
    ;({ vite: this.vite, port: this.port, logs: this.logs } = await startViteFor(this.owner, this.root, { options }))
    await this.logs.waitFor(/cannot load ws\/broken\.py:5: RuntimeError: boom at import/)
  }

  /** Writes `file`, a path in the project. */
  write(file, text) {
    writeFileSync(path.join(this.root, file), text)
  }

  /** Writes `file` and waits for a line matching `re` logged after it. */
  save(file, text, re) {
    return this.#logsAfter(() => this.write(file, text), re)
  }

  /** Deletes `file` and waits for a line matching `re` logged after it. */
  remove(file, re) {
    return this.#logsAfter(() => unlinkSync(path.join(this.root, file)), re)
  }

  async #logsAfter(change, re) {
    const from = this.logs.lines.length
    change()
    await this.logs.waitFor(re, { from })
  }

  openPage() {
    return openPage(this.port)
  }

  /** The errors and wsside: events `page` has got since its last look. */
  shown(page) {
    return received(this.vite, page)
  }

  /** What a page opened now is shown. */
  async shownToANewPage() {
    const page = await this.openPage()
    try {
      return await this.shown(page)
    } finally {
      page.close()
    }
  }
}

// A handler file named `name` whose on_message raises, at line 8, the exception `data` names
// ('key pol' raises KeyError('pol')).
const raising = (/** @type {string} */ name) => `from wsside import Handler\n\n${name} = Handler("/${name}")\n\n` +
  `@${name}.on_message\ndef message(conn, data):\n    kind, _, what = data.partition(" ")\n` +
  '    raise {"key": KeyError, "value": ValueError, "type": TypeError}[kind](what)\n'

/** The lines of `logs` from `from` up to the first one matching `re`, that one included. */
function linesUpTo(logs, from, re) {
  const after = logs.lines.slice(from)
  return after.slice(0, after.findIndex((l) => re.test(l)) + 1)
}

/**
 * Opens a socket to the `raising(name)` handler and makes it raise three KeyErrors and then a
 * ValueError; resolves with the socket once the ValueError is logged (a connection's messages
 * are handled in order: so are the KeyErrors).
 * @param {Dev} dev @param {string} name
 */
async function threeKeyErrors(dev, name) {
  const ws = await connectWs({ port: dev.port, path: `/api/${name}` })
  for (let n = 0; n < 3; n++) ws.send('key pol')
  ws.send('value last')
  await dev.logs.waitFor(new RegExp(`error in on_message of ws/${name}\\.py:8: ValueError: last`))
  return ws
}

describe('overlay', () => {
  const dev = new Dev(suiteCleanup())
  before(() => dev.start({ toml: 'prefix = "/api"\n' }))

  it('shows an error that stands to a page opened later, with its Python location', async () => {
    const [shown, ...rest] = await dev.shownToANewPage()
    assert.deepEqual(rest, [])
    assert.equal(shown.type, 'error')
    assert.equal(shown.err.plugin, 'wsside')
    assert.match(shown.err.message, /RuntimeError: boom at import/)
    assert.match(shown.err.loc.file, /ws\/broken\.py$/)
    assert.equal(shown.err.loc.line, 5)
    // A load error stands until fixed and should be seen: no word of turning the overlay off.
    assert.ok(!shown.err.stack.includes('overlay: false'), shown.err.stack)
  })

  it('takes the error off the overlay of an open page once the file is fixed', async () => {
    const page = await dev.openPage()
    assert.equal((await dev.shown(page)).length, 1)
    await dev.save('ws/broken.py', FIXED, /added ws\/broken\.py/)
    const [cleared, ...rest] = await dev.shown(page)
    assert.deepEqual(rest, [])
    assert.equal(cleared.event, 'wsside:clear-error')
    assert.match(cleared.data.file, /ws\/broken\.py$/)
    page.close()
  })

  it('shows an open page the error that still stands once the one shown over it is fixed', async () => {
    // The overlay shows one error at a time: broken.py's, then other.py's over it.
    await dev.save('ws/broken.py', BROKEN, /cannot load ws\/broken\.py:5/)
    const page = await dev.openPage()
    await dev.save('ws/other.py', 'raise RuntimeError("other")\n', /cannot load ws\/other\.py:1/)
    await dev.save('ws/other.py', FIXED.replace(/broken/g, 'other'), /added ws\/other\.py/)
    const events = await dev.shown(page)
    const [cleared, again] = events.slice(-2)
    assert.equal(cleared.event, 'wsside:clear-error')
    assert.match(cleared.data.file, /ws\/other\.py$/)
    assert.equal(again.type, 'error')
    assert.match(again.err.loc.file, /ws\/broken\.py$/)
    page.close()
    await dev.remove('ws/other.py', /removed ws\/other\.py/)
  })

  it('shows a page opened after a fix no fixed error, though the error came while no page was open', async () => {
    await dev.save('ws/broken.py', BROKEN, /cannot load ws\/broken\.py:5/)
    await dev.save('ws/broken.py', FIXED, /reloaded ws\/broken\.py/)
    assert.deepEqual(await dev.shownToANewPage(), [])
  })

  it('clears an error in a helper once the helper is fixed, though the overlay names the helper', async () => {
    dev.write('ws/_util.py', 'X = (\n')
    await dev.save('ws/uses.py', 'from _util import X\nfrom wsside import Handler\n\nuses = Handler("/uses")\n',
      /cannot load ws\/_util\.py:1/)
    const page = await dev.openPage()
    const [shown] = await dev.shown(page)
    assert.match(shown?.err?.loc?.file ?? '', /ws\/_util\.py$/)
    await dev.save('ws/_util.py', 'X = 3\n', /added ws\/uses\.py \(\/uses\)/)
    const [cleared, ...rest] = await dev.shown(page)
    assert.deepEqual(rest, [])
    assert.equal(cleared.event, 'wsside:clear-error')
    assert.match(cleared.data.file, /ws\/_util\.py$/)
    page.close()
    assert.deepEqual(await dev.shownToANewPage(), [])
  })

  it('takes the error of a file that never loaded away when the file is deleted', async () => {
    await dev.save('ws/draft.py', 'def x(:\n', /cannot load ws\/draft\.py:1/)
    await dev.remove('ws/draft.py', /removed ws\/draft\.py/)
    assert.deepEqual(await dev.shownToANewPage(), [])
  })

  it('takes a callback\'s error off the overlay of an open page once its file is saved', async () => {
    const RAISES = 'from wsside import Handler\n\nfaulty = Handler("/faulty")\n\n@faulty.on_message\n' +
      'def message(conn, data):\n    raise KeyError("tpyo")\n'
    await dev.save('ws/faulty.py', RAISES, /added ws\/faulty\.py/)
    const page = await dev.openPage()
    const ws = await connectWs({ port: dev.port, path: '/api/faulty' })
    ws.send('go')
    await dev.logs.waitFor(/error in on_message of ws\/faulty\.py:7: KeyError: 'tpyo'/)
    const [shown, ...before] = await dev.shown(page)
    assert.deepEqual(before, [])
    assert.match(shown?.err?.message ?? '', /^Runtime error in on_message of ws\/faulty\.py:7: KeyError: 'tpyo'/)
    // Under the traceback (Vite's overlay shows `stack` above its footer), the plugin's option
    // that keeps these off the pages, which the overlay covers until Esc.
    assert.match(shown.err.stack, /^Traceback \(most recent call last\):\n[^]*KeyError: 'tpyo'\n\n/)
    assert.ok(shown.err.stack.endsWith(
      "KeyError: 'tpyo'\n\nwsside({ overlay: false }) keeps Python errors in the terminal only"), shown.err.stack)
    await dev.save('ws/faulty.py', RAISES.replace('raise KeyError("tpyo")', 'conn.send(data)'),
      /reloaded ws\/faulty\.py/)
    const [cleared, ...rest] = await dev.shown(page)
    assert.deepEqual(rest, [])
    assert.equal(cleared?.event, 'wsside:clear-error')
    assert.equal(cleared.data.file, shown.err.loc.file)
    // A runtime error is an event: a page opened later never saw it, and needs no clearing.
    await dev.save('ws/faulty.py', RAISES.replace('tpyo', 'again'), /reloaded ws\/faulty\.py/)
    assert.deepEqual(await dev.shown(page), [])
    ws.close()
    page.close()
  })

  it('shows a callback\'s error that comes again and again once, and counts the repeats', async () => {
    const FLOODS = 'from wsside import Handler\n\nflood = Handler("/flood")\n\n@flood.on_message\n' +
      'def message(conn, data):\n    raise (ValueError if data == "last" else KeyError)(data)\n'
    await dev.save('ws/flood.py', FLOODS, /added ws\/flood\.py/)
    const page = await dev.openPage()
    const ws = await connectWs({ port: dev.port, path: '/api/flood' })
    for (let n = 0; n < 30; n++) ws.send(`key ${n}`)
    ws.send('last')
    // The sidecar's events come in order: once the ValueError is logged, so are the KeyErrors.
    await dev.logs.waitFor(/error in on_message of ws\/flood\.py:7: ValueError: last/)
    const full = (/** @type {string} */ kind) => dev.logs.lines.filter((l) => l.includes(`error in on_message of ws/flood.py:7: ${kind}:`))
    assert.equal(full('KeyError').length, 1, dev.logs.lines.join('\n'))
    assert.match(full('KeyError')[0], /error in on_message of ws\/flood\.py:7: KeyError: 'key 0'\nTraceback/)
    const shown = await dev.shown(page)
    assert.deepEqual(shown.map((m) => m.err?.message.split('\n')[0]), [
      "Runtime error in on_message of ws/flood.py:7: KeyError: 'key 0'",
      'Runtime error in on_message of ws/flood.py:7: ValueError: last',
    ])
    // A save ends the count at once, and the next error of the new code is shown in full.
    const [counted] = await dev.save('ws/flood.py', `${FLOODS}\n`, /KeyError \(and \d+ more times? in the last 5 s\)$/)
      .then(() => dev.logs.lines.filter((l) => / more times? in the last 5 s\)$/.test(l)))
    assert.ok(counted?.endsWith('] error in on_message of ws/flood.py:7: KeyError (and 29 more times in the last 5 s)'), counted)
    ws.send('key again')
    await dev.logs.waitFor(/error in on_message of ws\/flood\.py:7: KeyError: 'key again'\nTraceback/)
    ws.close()
    page.close()
  })

  it('writes the count of a file\'s errors before the line of its reload, and the errors of other files stay counted', async () => {
    await dev.save('ws/poll.py', raising('poll'), /added ws\/poll\.py/)
    await dev.save('ws/vote.py', raising('vote'), /added ws\/vote\.py/)
    const poll = await connectWs({ port: dev.port, path: '/api/poll' })
    const vote = await connectWs({ port: dev.port, path: '/api/vote' })
    for (let n = 0; n < 3; n++) poll.send('key pol')
    poll.send('value last')
    vote.send('key a')
    vote.send('key b')
    vote.send('value last')
    // A connection's messages are handled in order: once its ValueError is logged, so are its KeyErrors.
    await dev.logs.waitFor(/error in on_message of ws\/poll\.py:8: ValueError: last/)
    await dev.logs.waitFor(/error in on_message of ws\/vote\.py:8: ValueError: last/)
    const from = dev.logs.lines.length
    await dev.save('ws/poll.py', `${raising('poll')}\n`, /reloaded ws\/poll\.py/)
    // The count is of the code before the save: after the reload's line, it would read as
    // errors of the fixed code.
    const upToReload = linesUpTo(dev.logs, from, /reloaded ws\/poll\.py/)
    assert.deepEqual(upToReload.slice(-2).map((l) => l.replace(/ in \d+ ms$/, '')), [
      "[wsside] error in on_message of ws/poll.py:8: KeyError (and 2 more times in the last 5 s)",
      '[wsside] reloaded ws/poll.py (/poll)',
    ])
    assert.deepEqual(upToReload.filter((l) => l.includes('vote.py')), [])
    // The new code's error starts a new count: written in full.
    poll.send('key again')
    await dev.logs.waitFor(/error in on_message of ws\/poll\.py:8: KeyError: 'again'\nTraceback/)
    // vote.py's count goes on.
    vote.send('key c')
    vote.send('type end')
    await dev.logs.waitFor(/error in on_message of ws\/vote\.py:8: TypeError: end/)
    const written = dev.logs.lines.filter((l) => l.includes('error in on_message of ws/vote.py:8: KeyError'))
    assert.deepEqual(written.map((l) => l.split('\n')[0]), ["[wsside] error in on_message of ws/vote.py:8: KeyError: 'a'"])
    poll.close()
    vote.close()
  })

  it('writes the count of a file\'s errors before the line of a save that fails to load', async () => {
    await dev.save('ws/tally.py', raising('tally'), /added ws\/tally\.py/)
    const ws = await threeKeyErrors(dev, 'tally')
    const from = dev.logs.lines.length
    await dev.save('ws/tally.py', `${raising('tally')}\nbroken(\n`, /cannot load ws\/tally\.py/)
    try {
      const upToFailure = linesUpTo(dev.logs, from, /cannot load ws\/tally\.py/)
      assert.equal(upToFailure.at(-2), "[wsside] error in on_message of ws/tally.py:8: KeyError (and 2 more times in the last 5 s)")
      // The code before goes on serving; its next error comes after the save: written in full.
      ws.send('key again')
      await dev.logs.waitFor(/error in on_message of ws\/tally\.py:8: KeyError: 'again'\nTraceback/)
    } finally {
      ws.close()
      // The other tests of this suite expect no error that stands.
      await dev.save('ws/tally.py', raising('tally'), /reloaded ws\/tally\.py/)
    }
  })

  it('shows what a client sent in an error\'s message written out: no escape reaches the terminal', async () => {
    const ECHOES = 'from wsside import Handler\n\nsays = Handler("/says")\n\n@says.on_message\n' +
      'def message(conn, data):\n    raise ValueError(f"unknown command {data}")\n'
    await dev.save('ws/says.py', ECHOES, /added ws\/says\.py/)
    const ws = await connectWs({ port: dev.port, path: '/api/says' })
    ws.send('\u001b[2J\u001b]0;owned\u0007\nforged line')
    const [line] = await dev.logs.waitFor(/error in on_message of ws\/says\.py:7: [^]*/)
    assert.ok(line.startsWith(
      'error in on_message of ws/says.py:7: ValueError: unknown command \\x1b[2J\\x1b]0;owned\\x07\n  forged line\n'),
    line)
    assert.ok(!dev.logs.lines.some((l) => /[\u001b\u0007]/.test(l)))
    ws.close()
  })

  it('does the same for an error in wsside.toml, fixed before a page opens', async () => {
    await dev.save('wsside.toml', 'prefix = 5\n', /invalid config in wsside\.toml/)
    const [early] = await dev.shownToANewPage()
    assert.match(early?.err?.message ?? '', /Config error in wsside\.toml/)
    await dev.save('wsside.toml', 'prefix = "/api"\n', /wsside\.toml changed, nothing to restart/)
    assert.deepEqual(await dev.shownToANewPage(), [])
  })
})

it('overlay: false keeps Python errors out of the browser, not out of the terminal', async (t) => {
  const dev = new Dev(t)
  await dev.start({ options: { overlay: false } })
  const page = await dev.openPage()
  assert.deepEqual(await dev.shown(page), [])
  await dev.save('ws/broken.py', BROKEN.replace('boom', 'bang'),
    /cannot load ws\/broken\.py:5: RuntimeError: bang at import/)
  assert.deepEqual(await dev.shown(page), [])
  const client = await (await fetch(`http://127.0.0.1:${dev.port}/@vite/client`)).text()
  assert.ok(!client.includes('wsside:clear-error'), 'no overlay listener in Vite\'s client')
  page.close()
})

it('a restart of the sidecar (a config change) writes the counts of its errors before, and the next ones in full', async (t) => {
  const dev = new Dev(t)
  await dev.start({ toml: 'log_level = "info"\n' })
  await dev.save('ws/poll.py', raising('poll'), /added ws\/poll\.py/)
  const before = await threeKeyErrors(dev, 'poll')
  const from = dev.logs.lines.length
  await dev.save('wsside.toml', 'log_level = "debug"\n', /sidecar ready: pid \d+/)
  const upToReady = linesUpTo(dev.logs, from, /sidecar ready: pid \d+/)
  assert.ok(upToReady.includes('[wsside] error in on_message of ws/poll.py:8: KeyError (and 2 more times in the last 5 s)'),
    upToReady.join('\n'))
  assert.equal((await before.closed).code, 1012)
  const after = await connectWs({ port: dev.port, path: '/api/poll' })
  after.send('key again')
  await dev.logs.waitFor(/error in on_message of ws\/poll\.py:8: KeyError: 'again'\nTraceback/)
  after.close()
})

it('overlay takes true or false only', () => {
  assert.throws(() => wsside({ overlay: 'no' }), /option `overlay` must be true or false, got "no"/)
})

it('an option of the JavaScript plugin, or a handler option, says where it lives now', () => {
  assert.throws(() => wsside({ endpointPrefix: '/api' }), /option `endpointPrefix`: it is `prefix` here/)
  assert.throws(() => wsside({ disable: true }), /option `disable`: leave wsside\(\) out of `plugins` to turn it off/)
  assert.throws(() => wsside({ heartbeat: 30000 }),
    /option `heartbeat`: a handler option: heartbeat= in Handler\(\.\.\.\) in Python, or heartbeat under \[defaults\] in wsside\.toml \(seconds\)/)
  assert.throws(() => wsside({ defaultRoom: 'lobby' }), /option `defaultRoom`: a handler option: default_room= in Handler/)
  assert.throws(() => wsside({ prefx: '/api' }), /unknown option `prefx`; did you mean `prefix`\? \(known: prefix, handlers/)
  // A config ported from the JavaScript plugin: every leftover named in one error, one line each.
  const heartbeat = 'option `heartbeat`: a handler option: heartbeat= in Handler(...) in Python, or heartbeat under ' +
    '[defaults] in wsside.toml (seconds)'
  assert.throws(() => wsside({ endpointPrefix: '/api', heartbeat: 30000 }), {
    name: 'WssideOptionError',
    message: `wsside: 2 options to change:\n  option \`endpointPrefix\`: it is \`prefix\` here\n  ${heartbeat}`,
  })
  assert.throws(() => wsside({ endpointPrefix: '/api', prefx: '/api', enablePreview: false }), {
    message: 'wsside: 3 options to change:\n  option `endpointPrefix`: it is `prefix` here\n' +
      '  unknown option `prefx`; did you mean `prefix`?\n  option `enablePreview`: it is `preview` here\n' +
      '  (known: prefix, handlers, config, python, env, preview, overlay, allowedOrigins)',
  })
})
