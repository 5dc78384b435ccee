// wsside-env.d.ts under a real Vite and sidecar: written beside vite.config once the sidecar is
// ready, rewritten after a reload that changes the message types, left alone (same mtime)
// after a reload that does not, written again when deleted, and the same text as `wsside types`
// writes.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { before, describe, it } from 'node:test'
import { suiteCleanup } from './helpers/cleanup.js'
import { makeProject, PYTHON, startViteFor } from './helpers/project.js'

const typed = (field) => `from typing import Literal, TypedDict
from wsside import Handler


class ChatIn(TypedDict):
    type: Literal["chat"]
    ${field}: str


chat = Handler("/ws/chat", receives=ChatIn)
`

describe('wsside-env.d.ts', () => {
  const cleanup = suiteCleanup()
  let root, logs, file

  before(async () => {
    root = makeProject(cleanup, { 'chat.py': typed('text') })
    ;({ logs } = await startViteFor(cleanup, root))
    file = path.join(root, 'wsside-env.d.ts')
  })

  it('is written beside vite.config when the sidecar is ready, as wsside types writes it', async () => {
    await logs.waitFor(/wrote wsside-env\.d\.ts/)
    const text = readFileSync(file, 'utf8')
    assert.match(text, /'\/ws\/chat': \{ receives: WsChat\.Receives; sends: unknown \}/)
    assert.match(text, / {4}text: string\n/)
    const cli = spawnSync(PYTHON, ['-m', 'wsside', 'types'], { cwd: root, encoding: 'utf8' })
    assert.equal(cli.status, 0, cli.stderr)
    assert.equal(text, cli.stdout)
  })

  it('is rewritten after a reload that changes the types', async () => {
    const from = logs.lines.length
    writeFileSync(path.join(root, 'ws', 'chat.py'), typed('body'))
    await logs.waitFor(/reloaded ws\/chat\.py/, { from })
    await logs.waitFor(/wrote wsside-env\.d\.ts/, { from })
    const text = readFileSync(file, 'utf8')
    assert.match(text, / {4}body: string\n/)
    assert.doesNotMatch(text, / {4}text: string\n/)
  })

  it('is written again when deleted while Vite runs (a git stash -u, a clean-up)', async () => {
    const text = readFileSync(file, 'utf8')
    const from = logs.lines.length
    unlinkSync(file)
    await logs.waitFor(/wrote wsside-env\.d\.ts/, { from })
    assert.equal(readFileSync(file, 'utf8'), text)
  })

  it('is left alone after a reload that does not change them', async () => {
    const before = statSync(file).mtimeMs
    const from = logs.lines.length
    writeFileSync(path.join(root, 'ws', 'chat.py'), `${typed('body')}\n# a comment changes no type\n`)
    await logs.waitFor(/reloaded ws\/chat\.py/, { from })
    // Not a TypeScript project (no tsconfig.json): nothing said of one.
    assert.deepEqual(logs.lines.filter((l) => /does not include wsside-env/.test(l)), [])
    // The file is compared and written in the same turn as the reload's log line.
    assert.deepEqual(logs.lines.slice(from).filter((l) => /wrote wsside-env/.test(l)), [])
    assert.equal(statSync(file).mtimeMs, before)
  })
})

describe('wsside-env.d.ts in a TypeScript project whose tsconfig does not list it', () => {
  const cleanup = suiteCleanup()

  it('is named in a warning, with the line to add, once types are declared, once', async () => {
    // Untyped at start: nothing to see yet, so nothing said.
    const root = makeProject(cleanup, { 'chat.py': 'from wsside import Handler\nchat = Handler("/ws/chat")\n' })
    // Vite's templates compile src/ alone: the file beside vite.config is not seen.
    writeFileSync(path.join(root, 'tsconfig.json'), '{ "include": ["src"] }\n')
    const { logs } = await startViteFor(cleanup, root)
    await logs.waitFor(/wrote wsside-env\.d\.ts/)
    let from = logs.lines.length
    writeFileSync(path.join(root, 'ws', 'chat.py'), typed('text'))
    const [line] = await logs.waitFor(/tsconfig\.json does not include wsside-env\.d\.ts.*/, { from })
    assert.match(line, /the editor and tsc see no message types \(each message is unknown\): in tsconfig\.json: "include": \["src", "wsside-env\.d\.ts"\]/)
    from = logs.lines.length
    writeFileSync(path.join(root, 'ws', 'chat.py'), typed('body'))
    await logs.waitFor(/wrote wsside-env\.d\.ts/, { from })
    const second = logs.lines.length
    writeFileSync(path.join(root, 'ws', 'chat.py'), typed('other'))
    await logs.waitFor(/reloaded ws\/chat\.py/, { from: second })
    assert.equal(logs.lines.filter((l) => /does not include wsside-env/.test(l)).length, 1)
  })
})

describe('wsside-env.d.ts while a handler file that never loaded fails', () => {
  const cleanup = suiteCleanup()

  it('keeps the types written when the file loaded, until every handler file loads', async () => {
    const root = makeProject(cleanup, { 'chat.py': typed('text') })
    const file = path.join(root, 'wsside-env.d.ts')
    const written = spawnSync(PYTHON, ['-m', 'wsside', 'types', '--out', 'wsside-env.d.ts'], { cwd: root, encoding: 'utf8' })
    assert.equal(written.status, 0, written.stderr)
    const before = readFileSync(file, 'utf8')
    assert.match(before, / {4}text: string\n/)
    // Vite starts while the file is broken (no `:` after the class line): no version of it
    // has loaded in this sidecar, so what it declares is unknown.
    const chat = path.join(root, 'ws', 'chat.py')
    writeFileSync(chat, typed('text').replace('class ChatIn(TypedDict):', 'class ChatIn(TypedDict)'))
    const { logs } = await startViteFor(cleanup, root)
    await logs.waitFor(/cannot load ws\/chat\.py:\d+: SyntaxError/)
    assert.deepEqual(logs.lines.filter((l) => /wrote wsside-env/.test(l)), [])
    assert.equal(readFileSync(file, 'utf8'), before)
    const from = logs.lines.length
    writeFileSync(chat, typed('body'))
    await logs.waitFor(/added ws\/chat\.py/, { from }) // it had served nothing: added
    await logs.waitFor(/wrote wsside-env\.d\.ts/, { from })
    assert.match(readFileSync(file, 'utf8'), / {4}body: string\n/)
  })
})
