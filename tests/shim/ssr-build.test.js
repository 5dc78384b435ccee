// Server-rendered code that imports the browser client (a React Router route, an Astro
// island's page): `vite build --ssr` bundles the client into the server build rather than
// leaving an import of the package, which a production install without devDependencies
// (`npm ci --omit=dev`, where the plugin lives) does not have. The package is installed as
// npm installs it, a copy (Vite never externalises a linked one), and the built server module
// is loaded from a folder with no node_modules at all.

import assert from 'node:assert/strict'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { it } from 'node:test'
import { pathToFileURL } from 'node:url'
import { makeProject, ownProcess, REPO, tempFolder, VITE_PACKAGES } from './helpers/project.js'
import { withTimeout } from './helpers/ws-client.js'

const SHIM = path.join(REPO, 'node_shim')
const viteCli = path.join(
  path.dirname(createRequire(import.meta.url).resolve(`${VITE_PACKAGES[process.env.WSSIDE_VITE ?? '8']}/package.json`)),
  'bin', 'vite.js',
)

it('vite build --ssr bundles the client: the server build runs without the package installed', async (t) => {
  const root = makeProject(t)
  const installed = path.join(root, 'node_modules', 'vite-plugin-wsside')
  mkdirSync(installed, { recursive: true })
  for (const file of ['package.json', 'index.js', 'index.d.ts', 'client', 'lib', 'interpreter-rules.json']) {
    cpSync(path.join(SHIM, file), path.join(installed, file), { recursive: true })
  }
  writeFileSync(path.join(root, 'package.json'), '{ "type": "module" }\n')
  writeFileSync(path.join(root, 'vite.config.js'),
    "import wsside from 'vite-plugin-wsside'\nexport default { plugins: [wsside({ prefix: '/rt' })] }\n")
  mkdirSync(path.join(root, 'src'))
  writeFileSync(path.join(root, 'src', 'entry-server.js'), [
    "import { connect } from 'vite-plugin-wsside/client'",
    '// A render calls no connect (it throws there, as there is no page): it only imports it.',
    "export function render() { return typeof connect }",
    "export function prefix() { try { connect('/ws/chat') } catch (err) { return err.message } }",
    '',
  ].join('\n'))
  const vite = ownProcess(t, process.execPath, [viteCli, 'build', '--ssr', 'src/entry-server.js'], root)
  assert.equal(await withTimeout(vite.closed, 60_000, 'vite build --ssr to exit'), 0, vite.output)
  const built = readFileSync(path.join(root, 'dist', 'entry-server.js'), 'utf8')
  assert.doesNotMatch(built, /from\s*["']vite-plugin-wsside/, built)

  const elsewhere = tempFolder(t)
  cpSync(path.join(root, 'dist'), elsewhere, { recursive: true })
  writeFileSync(path.join(elsewhere, 'package.json'), '{ "type": "module" }\n')
  const server = await import(pathToFileURL(path.join(elsewhere, 'entry-server.js')).href)
  assert.equal(server.render(), 'function')
  // The plugin's prefix came with it (the define applies to the bundled client): the error
  // of a connect outside a page (with a WebSocket, which Node 20 lacks) names the address.
  const own = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket')
  globalThis.WebSocket = class {}
  try {
    assert.match(server.prefix(), /ran outside a page: .*'ws:\/\/host:port\/rt\/ws\/chat'/, server.prefix())
  } finally {
    if (own) Object.defineProperty(globalThis, 'WebSocket', own)
    else delete globalThis.WebSocket
  }
})
