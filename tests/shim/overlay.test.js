// Python errors in the browser's error overlay, seen through a real Vite's HMR socket (what a
// page's Vite client gets): errors that still stand reach pages opened later, fixed ones do
// not, and `overlay: false` keeps them out.

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
  })

  it('takes the error off the overlay of an open page once the file is fixed', async () => {
    const page = await dev.openPage()
    assert.equal((await dev.shown(page)).length, 1)
    await dev.save('ws/broken.py', FIXED, /reloaded ws\/broken\.py/)
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
    await dev.save('ws/other.py', FIXED.replace(/broken/g, 'other'), /reloaded ws\/other\.py/)
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
    await dev.save('ws/_util.py', 'X = 3\n', /reloaded ws\/uses\.py \(\/uses\)/)
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
})
