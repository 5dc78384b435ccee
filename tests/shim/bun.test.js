// Vite under Bun's runtime (`bunx --bun vite`): Bun's child process has an IPC channel without
// unref(), which stopped Vite before its banner; Bun's sockets have no handle to hand over,
// so upgrades are piped. The sidecar starts, serves and goes with Vite.

import assert from 'node:assert/strict'
import { symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { it } from 'node:test'
import { freePort, isAlive, makeProject, ownProcess, PYTHON, waitForExit } from './helpers/project.js'
import { connectWs, withTimeout } from './helpers/ws-client.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const BUN = path.join(here, 'node_modules/.bin/bun')

it("under Bun's runtime the sidecar starts, serves, and ends with Vite", async (t) => {
  const root = makeProject(t)
  symlinkSync(path.join(here, 'node_modules'), path.join(root, 'node_modules'), 'dir')
  writeFileSync(path.join(root, 'vite.config.mjs'),
    `import wsside from 'vite-plugin-wsside'\nexport default { plugins: [wsside({ python: ${JSON.stringify(PYTHON)} })] }\n`)
  const port = await freePort()
  const vite = ownProcess(t, BUN, ['--bun', 'x', 'vite', '--port', String(port), '--host', '127.0.0.1', '--strictPort'], root)
  const ready = new Promise((resolve) => {
    const heard = () => /sidecar ready: pid (\d+)/.test(vite.output) && resolve(undefined)
    for (const stream of [vite.child.stdout, vite.child.stderr]) stream.on('data', heard)
  })
  await withTimeout(Promise.race([ready, vite.closed.then(() => { throw new Error(`vite exited:\n${vite.output}`) })]),
    30_000, 'the sidecar ready under Bun')
  const pid = Number(/sidecar ready: pid (\d+)/.exec(vite.output)?.[1])
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('under bun')
  assert.equal(await ws.next(), 'under bun')
  ws.close()
  vite.child.kill('SIGTERM')
  await withTimeout(vite.closed, 15_000, 'vite to exit on SIGTERM')
  await waitForExit(pid)
  assert.ok(!isAlive(pid), 'the sidecar outlived Vite')
  assert.ok(!/TypeError/.test(vite.output), vite.output)
})
