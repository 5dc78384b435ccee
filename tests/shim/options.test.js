// A mistake in the plugin's options is one line naming the option and the value (options left
// from the JavaScript plugin: one line each): in the error thrown, and in what Vite's CLI
// prints for a vite.config holding it (no stack trace).

import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { describe, it } from 'node:test'
import http from 'node:http'
import wsside, { attachWsside } from 'vite-plugin-wsside'
import { makeProject, ownProcess, REPO, tempFolder, VITE_PACKAGES } from './helpers/project.js'
import { withTimeout } from './helpers/ws-client.js'

const PLUGIN = path.join(REPO, 'node_shim', 'index.js')
const viteCli = path.join(
  path.dirname(createRequire(import.meta.url).resolve(`${VITE_PACKAGES[process.env.WSSIDE_VITE ?? '8']}/package.json`)),
  'bin', 'vite.js',
)

/**
 * The message of the WssideOptionError `call(options)` throws (`wsside` by default); fails
 * when it does not throw.
 */
function messageOf(options, call = wsside) {
  try {
    call(options)
  } catch (err) {
    assert.equal(err.name, 'WssideOptionError', err.stack)
    assert.equal(err.stack.split('\n').length, 1, `one line: ${err.stack}`)
    return err.message
  }
  assert.fail(`${call.name}(${JSON.stringify(options)}) did not throw`)
}

/**
 * What Vite's CLI (`vite`, the dev server) prints for a vite.config calling wsside(`options`).
 * The project and the CLI, should it not exit, are gone when test `t` ends.
 */
async function viteOutput(t, options, plugins = `[wsside(${options})]`) {
  const root = makeProject(t)
  writeFileSync(path.join(root, 'vite.config.js'),
    `import wsside from ${JSON.stringify(PLUGIN)}\nexport default { plugins: ${plugins} }\n`)
  const vite = ownProcess(t, process.execPath, [viteCli, '--port', '0'], root)
  try {
    await withTimeout(vite.closed, 15_000, 'vite to exit')
  } catch (err) {
    err.message += `; it printed:\n${vite.output}` // what it printed by the timeout, not by the start
    throw err
  }
  return vite.output
}

describe('unknown options', () => {
  it('suggest the known option meant, and list them all', () => {
    const known = '(known: prefix, handlers, config, python, env, preview, overlay, allowedOrigins)'
    assert.equal(messageOf({ prefx: '/rt' }), `wsside: unknown option \`prefx\`; did you mean \`prefix\`? ${known}`)
    assert.match(messageOf({ Overlay: false }), /; did you mean `overlay`\?/)
    assert.match(messageOf({ allowed_origins: [] }), /`allowed_origins`; did you mean `allowedOrigins`\?/)
    assert.match(messageOf({ allowedorigins: [] }), /did you mean `allowedOrigins`\?/)
    assert.equal(messageOf({ routes: [] }), `wsside: unknown option \`routes\` ${known}`)
  })
})

describe('several unknown options, and the plugin not called', () => {
  it('names every unknown option at once', () => {
    assert.match(messageOf({ handler: 'ws', prefx: '/api' }),
      /^wsside: unknown options `handler` \(did you mean `handlers`\?\), `prefx` \(did you mean `prefix`\?\) \(known: /)
  })

  it('plugins: [wsside] stops Vite with the call to write, in one line', async (t) => {
    const output = await viteOutput(t, '', '[wsside]')
    assert.ok(output.includes('wsside: vite.config has plugins: [wsside], the function itself: call it, plugins: [wsside()]'), output)
    assert.ok(!/^\s+at /m.test(output), `a stack line in:\n${output}`)
  })
})

describe('values of the wrong type', () => {
  it('name the option and the value', () => {
    assert.equal(messageOf({ handlers: 42 }), 'wsside: option `handlers` must be a string, got 42')
    assert.equal(messageOf({ overlay: 'no' }), 'wsside: option `overlay` must be true or false, got "no"')
    assert.equal(messageOf({ prefix: 3 }), 'wsside: option `prefix` must be a string or a list of strings, got 3')
    assert.equal(messageOf({ env: { PORT: 8000 } }), 'wsside: env: PORT must be a string, got 8000')
    assert.equal(messageOf({ allowedOrigins: 'http://devbox:5173' }),
      'wsside: option `allowedOrigins` must be a list, such as ["http://devbox:5173"], got "http://devbox:5173"')
    assert.equal(messageOf({ allowedOrigins: [5173] }), 'wsside: allowedOrigins: 5173 is not an origin string, a RegExp or null')
  })
})

describe('empty strings', () => {
  it('are refused where they would stand for the default', () => {
    assert.equal(messageOf({ python: '' }),
      "wsside: option `python` is an empty string: give an interpreter, such as '.venv/bin/python' or 'python3.12', or leave it out")
    assert.match(messageOf({ handlers: '' }), /^wsside: option `handlers` is an empty string: give a folder, such as 'ws'/)
    assert.match(messageOf({ config: '' }), /^wsside: option `config` is an empty string: give a file/)
  })
})

describe('attachWsside options', () => {
  // attachWsside on a server that never listens: an option it accepts starts no sidecar.
  const server = http.createServer()
  const attach = (options) => attachWsside(server, options)

  it('are checked when attachWsside is called, each error one line naming the option and the value', async (t) => {
    const file = path.join(tempFolder(t), 'file.txt')
    writeFileSync(file, '')
    for (const [options, expected] of [
      [{ allowedHosts: 'devbox' }, 'wsside: option `allowedHosts` must be true or a list of host names, such as ["devbox"], got "devbox"'],
      [{ allowedHosts: false }, "wsside: option `allowedHosts` must be true or a list of host names, such as ['devbox', '.example.test'], got false"],
      [{ allowedHosts: ['devbox', 5173] }, 'wsside: allowedHosts: 5173 is not a host name string'],
      [{ logger: 5 }, 'wsside: option `logger` must have info, warn and error methods, such as console, got 5'],
      [{ logger: { info() {} } }, 'wsside: option `logger` must have info, warn and error methods, such as console, got an object without warn, error'],
      [{ root: 5 }, 'wsside: option `root` must be the path of the folder holding ws/ (and .venv), got 5'],
      [{ root: '' }, 'wsside: option `root` must be the path of the folder holding ws/ (and .venv), got ""'],
      [{ root: '/nope/wsside-no-such-folder' }, 'wsside: option `root`: "/nope/wsside-no-such-folder" does not exist'],
      [{ root: file }, `wsside: option \`root\`: ${JSON.stringify(file)} is not a folder`],
      [{ root: 'no-such-folder' }, `wsside: option \`root\`: "no-such-folder" (${path.resolve('no-such-folder')}) does not exist`],
      [{ python: '' }, "wsside: option `python` is an empty string: give an interpreter, such as '.venv/bin/python' or 'python3.12', or leave it out"],
      [null, "wsside: the options must be an object such as { prefix: '/api' }, got null"],
    ]) {
      assert.equal(messageOf(options, attach), expected)
    }
    // What Vite's server.allowedHosts takes is taken.
    for (const allowedHosts of [true, [], ['devbox', '.example.test']]) {
      await attach({ root: makeProject(t), allowedHosts, logger: console }).close()
    }
  })

  it('unknown ones list what attachWsside takes, the plugin\'s and its own', () => {
    const known = '(known: prefix, handlers, config, python, env, preview, overlay, allowedOrigins, root, logger, allowedHosts)'
    assert.equal(messageOf({ roots: '.' }, attach), `wsside: unknown option \`roots\`; did you mean \`root\`? ${known}`)
    assert.equal(messageOf({ allowed_hosts: [] }, attach),
      `wsside: unknown option \`allowed_hosts\`; did you mean \`allowedHosts\`? ${known}`)
    // The plugin does not take them: its list stays its own.
    assert.match(messageOf({ root: '.' }), /^wsside: unknown option `root` \(known: prefix, .*, allowedOrigins\)$/)
  })
})

describe('allowedOrigins', () => {
  const shape = 'is not an origin (scheme://host[:port], nothing after)'

  it('takes origins as browsers send them, `null`, null and RegExps', () => {
    const origins = ['http://devbox:5173', 'https://app.example', 'http://[::1]:5173', 'null', null, /\.example$/,
      'tauri://localhost', 'chrome-extension://abcdefgh']
    assert.deepEqual(wsside({ allowedOrigins: origins }).api.options.allowedOrigins, origins)
  })

  it('refuses what never equals an Origin header, with the origin meant', () => {
    assert.equal(messageOf({ allowedOrigins: ['http://devbox:5173/'] }),
      `wsside: allowedOrigins: "http://devbox:5173/" ${shape}: did you mean "http://devbox:5173"?`)
    assert.equal(messageOf({ allowedOrigins: ['https://app.example/login'] }),
      `wsside: allowedOrigins: "https://app.example/login" ${shape}: did you mean "https://app.example"?`)
    assert.equal(messageOf({ allowedOrigins: ['HTTP://DevBox:80'] }),
      `wsside: allowedOrigins: "HTTP://DevBox:80" ${shape}: did you mean "http://devbox"?`)
    assert.equal(messageOf({ allowedOrigins: ['localhost:3000'] }),
      `wsside: allowedOrigins: "localhost:3000" ${shape}: did you mean "http://localhost:3000"?`)
    assert.equal(messageOf({ allowedOrigins: ['foo'] }), `wsside: allowedOrigins: "foo" ${shape}`)
    assert.equal(messageOf({ allowedOrigins: [''] }), `wsside: allowedOrigins: "" ${shape}`)
  })

  it('agrees with the Python side on every case of tests/golden/origins.json', () => {
    const { cases } = JSON.parse(readFileSync(new URL('../golden/origins.json', import.meta.url), 'utf8'))
    for (const { origin, ok, meant } of cases) {
      if (ok) {
        assert.doesNotThrow(() => wsside({ allowedOrigins: [origin] }), origin)
        continue
      }
      const said = `wsside: allowedOrigins: ${JSON.stringify(origin)} ${shape}`
      assert.equal(messageOf({ allowedOrigins: [origin] }), meant === null ? said : `${said}: did you mean ${JSON.stringify(meant)}?`)
    }
  })
})

describe("in Vite's output", () => {
  it('the leftover options of the JavaScript plugin are all named, one line each, with no stack trace', async (t) => {
    const output = await viteOutput(t, "{ endpointPrefix: '/api', heartbeat: 30000 }")
    const lines = output.split('\n')
    const at = lines.findIndex((l) => l.includes('wsside: 2 options to change:'))
    assert.ok(at >= 0, output)
    assert.equal(lines[at + 1], '  option `endpointPrefix`: it is `prefix` here', output)
    assert.match(lines[at + 2], /^ {2}option `heartbeat`: a handler option: heartbeat= in Handler/, output)
    assert.ok(!/^\s+at /m.test(output), `a stack line in:\n${output}`)
  })

  for (const [options, expected] of [
    ["{ prefx: '/rt' }", 'wsside: unknown option `prefx`; did you mean `prefix`?'],
    ['{ handlers: 42 }', 'wsside: option `handlers` must be a string, got 42'],
    ["{ allowedOrigins: ['http://devbox:5173/'] }", 'wsside: allowedOrigins: "http://devbox:5173/" is not an origin'],
  ]) {
    it(`wsside(${options}) is one line, with no stack trace`, async (t) => {
      const output = await viteOutput(t, options)
      const line = output.split('\n').find((l) => l.includes(expected))
      assert.ok(line, `${expected} in:\n${output}`)
      assert.ok(!/^\s+at /m.test(output), `a stack line in:\n${output}`)
    })
  }
})
