// Frameworks built on Vite, reproduced by what they do to Vite that matters to wsside (the
// frameworks themselves are too big for CI to install):
// - Nuxt runs Vite in middleware mode, with Vite's HMR socket on the server of `nuxi dev`
//   (server.hmr.server, a server that already listens), its root in app/, no vite.config;
// - SvelteKit, Astro and React Router render their HTML themselves, without
//   transformIndexHtml (SvelteKit warns about any plugin that has that hook);
// - Vitest creates a middleware-mode server without HMR or any HTTP server.

import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { it } from 'node:test'
import wsside, { attachWsside } from 'vite-plugin-wsside'
import { openPage } from './helpers/page.js'
import { cleanupOf } from './helpers/cleanup.js'
import { captureLogger, makeProject, ownVite, PYTHON, startViteFor, vite as viteUnderTest, waitForExit } from './helpers/project.js'
import { connectWs } from './helpers/ws-client.js'

/** Resolves once `server` listens on a free loopback port; returns the port. */
async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server.address().port
}

/**
 * What `nuxi dev` does: its server listens, then it creates Vite in middleware mode on app/,
 * with the HMR socket on its server, and hands it the requests. The sidecar's temp folder
 * goes to `<root>/tmp`, to see that nothing is left there. Both servers are closed when test
 * `t` ends.
 */
async function nuxtLike(t, root, { before = () => {} } = {}) {
  const logs = captureLogger()
  writeFileSync(path.join(root, 'package.json'), '{ "private": true }')
  mkdirSync(path.join(root, 'app'))
  mkdirSync(path.join(root, 'tmp'))
  const server = http.createServer()
  cleanupOf(t).add(() => server.close())
  const port = await listen(server)
  before(server, logs)
  const vite = ownVite(t, await viteUnderTest.createServer({
    root: path.join(root, 'app'),
    configFile: false,
    appType: 'custom',
    customLogger: logs.logger,
    server: { middlewareMode: true, hmr: { server } },
    plugins: [wsside({ python: PYTHON, env: { TMPDIR: path.join(root, 'tmp') } })],
  }))
  server.on('request', (req, res) => vite.middlewares(req, res, () => res.end('<!doctype html><p>nuxt</p>')))
  return { logs, server, port, vite }
}

it('Nuxt: the plugin serves the upgrades of the server Vite gets for HMR, and Vite closing stops it', async (t) => {
  const root = makeProject(t)
  const { logs, server, port, vite } = await nuxtLike(t, root)
  const pid = Number((await logs.waitFor(/sidecar ready: pid (\d+)/))[1])
  // ws/ and .venv are found beside package.json, not in Vite's root (app/).
  await logs.waitFor(new RegExp(`ws://localhost:${port}/api/echo {2}\\(ws/echo\\.py:4\\)`))
  const ws = await connectWs({ port, path: '/api/echo', headers: { Origin: `http://127.0.0.1:${port}` } })
  ws.send('through nuxi')
  assert.equal(await ws.next(), 'through nuxi')
  const page = await openPage(port) // Vite's HMR socket, on the same server, still greets
  page.close()
  await (await fetch(`http://127.0.0.1:${port}/`)).text()
  assert.ok(!logs.lines.some((line) => /middleware mode/.test(line)), logs.lines.join('\n'))
  await vite.close() // what Nuxt does on a restart and on exit
  assert.equal((await ws.closed).code, 1001)
  await waitForExit(pid)
  assert.deepEqual(readdirSync(path.join(root, 'tmp')), [])
  assert.equal(server.listenerCount('upgrade'), 0, 'wsside detached (and Vite removed its own)')
})

it('Nuxt with attachWsside in its listen hook: one of the two serves, never both', async (t) => {
  const root = makeProject(t)
  const { logs, server, port } = await nuxtLike(t, root, {
    before: (httpServer, logs) => {
      const attached = attachWsside(httpServer, { root, python: PYTHON, logger: logs.logger })
      cleanupOf(t).add(() => attached.close())
    },
  })
  await logs.waitFor(/sidecar ready/)
  const listeners = server.listenerCount('upgrade')
  const again = attachWsside(server, { root, python: PYTHON, logger: logs.logger })
  await logs.waitFor(/attachWsside: wsside already serves the upgrades of this server.*remove it/)
  assert.equal(server.listenerCount('upgrade'), listeners)
  await again.close()
  const ws = await connectWs({ port, path: '/api/echo' })
  ws.send('once')
  assert.equal(await ws.next(), 'once')
  ws.close()
  assert.equal(logs.lines.filter((line) => /sidecar ready/.test(line)).length, 1)
})

it('SvelteKit, Astro, React Router: the overlay listener rides in Vite\'s client, not in HTML they never transform', async (t) => {
  // SvelteKit's check, as it runs it: every plugin with a transformIndexHtml hook is named in
  // a warning that it "may not work correctly".
  const withHtmlHook = []
  const kitLike = {
    name: 'kit-like',
    configResolved(config) {
      withHtmlHook.push(...config.plugins.filter((p) => p.transformIndexHtml).map((p) => p.name))
    },
  }
  for (const overlay of [true, false]) {
    // One subtest each: the first server and its folder are gone before the second starts.
    await t.test(`overlay: ${overlay}`, async (t) => {
      const { port } = await startViteFor(t, makeProject(t), { config: { appType: 'custom', plugins: [kitLike, wsside({ python: PYTHON, overlay })] } })
      const client = await (await fetch(`http://127.0.0.1:${port}/@vite/client`)).text()
      assert.equal(client.includes("createHotContext('/@wsside/overlay').on('wsside:clear-error'"), overlay)
    })
  }
  assert.ok(!withHtmlHook.includes('vite-plugin-wsside'), withHtmlHook.join(', '))
})

it('Vitest: a middleware-mode server without HMR starts no Python and logs nothing', async (t) => {
  const root = makeProject(t)
  const logs = captureLogger()
  const vite = ownVite(t, await viteUnderTest.createServer({
    root,
    configFile: false,
    customLogger: logs.logger,
    server: { middlewareMode: true, hmr: false },
    plugins: [wsside({ python: PYTHON })],
  }))
  writeFileSync(path.join(root, 'sum.js'), 'export const sum = (a, b) => a + b\n')
  const { sum } = await vite.ssrLoadModule('/sum.js')
  assert.equal(sum(1, 2), 3)
  // DEBUG=wsside is on (helpers/project.js): a sidecar starting would say so.
  assert.deepEqual(logs.lines.filter((line) => /wsside/.test(line)), [])
})
