// Behind a forwarder that rewrites Host to localhost:PORT (Codespaces, dev tunnels, VS Code's
// port forwarding): the page's origin is the one X-Forwarded-Host (and X-Forwarded-Proto)
// name. No browser sends those headers without a proxy, so the rule is checked on its own,
// with the headers a forwarder sends written by a Node client to a real Vite, and once
// through a real nginx in front of Vite.

import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { before, describe, it } from 'node:test'
import { refusalReason } from '../../node_shim/lib/security.js'
import { cleanupOf, suiteCleanup } from './helpers/cleanup.js'
import { makeProject, startViteFor, tempFolder } from './helpers/project.js'
import { connectWs, upgrade, withTimeout, WAIT_MS } from './helpers/ws-client.js'

const NGINX = '/usr/sbin/nginx'
const PAGE = 'https://name-5173.app.github.dev'
// What a forwarder sends Vite for a page at PAGE: Host rewritten, the page's host and scheme
// in X-Forwarded-*.
const forwarder = (port, over = {}) => ({
  Host: `localhost:${port}`,
  Origin: PAGE,
  'X-Forwarded-Host': 'name-5173.app.github.dev',
  'X-Forwarded-Proto': 'https',
  ...over,
})

const req = (headers) => ({ headers })
const context = { allowedHosts: [], checkHost: true, allowedOrigins: [], loopbackOnly: () => true }
const reason = (headers) => refusalReason(req(headers), context)

it('admits the Origin X-Forwarded-Host and X-Forwarded-Proto name, compared as origins', () => {
  const host = 'localhost:5173'
  assert.equal(reason({ host, origin: PAGE, 'x-forwarded-host': 'name-5173.app.github.dev', 'x-forwarded-proto': 'https' }), null)
  // A default port written out, a host in capitals: the same origin.
  assert.equal(reason({ host, origin: PAGE, 'x-forwarded-host': 'Name-5173.app.github.dev:443', 'x-forwarded-proto': 'https' }), null)
  assert.equal(reason({ host, origin: 'https://dev.example:8443', 'x-forwarded-host': 'dev.example:8443', 'x-forwarded-proto': 'https' }), null)
  // Each proxy on the way appends: the first value is the browser's.
  assert.equal(reason({ host, origin: 'https://a.example', 'x-forwarded-host': 'a.example, b.example', 'x-forwarded-proto': 'https, http' }), null)
  // wss as Traefik says it.
  assert.equal(reason({ host, origin: 'https://a.example', 'x-forwarded-host': 'a.example', 'x-forwarded-proto': 'wss' }), null)
})

it('admits a forwarded page over https only: over http it could be a DNS-rebinding page', () => {
  const host = 'localhost:5173'
  // Without X-Forwarded-Proto, the request's own scheme: plain HTTP here.
  for (const headers of [{ 'x-forwarded-host': 'a.example' }, { 'x-forwarded-host': 'a.example', 'x-forwarded-proto': 'http' },
    { 'x-forwarded-host': 'a.example', 'x-forwarded-proto': 'ws' }]) {
    assert.equal(reason({ host, origin: 'http://a.example', ...headers }),
      'Origin "http://a.example" is not this dev server (localhost:5173) nor the page X-Forwarded-Host names ' +
      '(http://a.example, which counts over https only); add it to the allowedOrigins option of wsside()')
  }
})

it('refuses every other Origin, naming the page the proxy names', () => {
  const host = 'localhost:5173'
  const xfh = { 'x-forwarded-host': 'name-5173.app.github.dev', 'x-forwarded-proto': 'https' }
  assert.equal(reason({ host, origin: 'https://evil.example', ...xfh }),
    'Origin "https://evil.example" is not this dev server (localhost:5173) nor the page X-Forwarded-Host names ' +
    `(${PAGE}); add it to the allowedOrigins option of wsside()`)
  // The scheme counts: an http page is not the https one.
  assert.match(reason({ host, origin: 'http://name-5173.app.github.dev', ...xfh }) ?? '', /not this dev server .* nor the page X-Forwarded-Host names/)
  assert.match(reason({ host, origin: 'https://a.example', 'x-forwarded-host': 'a.example' }) ?? '', /nor the page X-Forwarded-Host names \(http:\/\/a\.example, which counts over https only\)/)
  assert.match(reason({ host, origin: 'https://dev.example', 'x-forwarded-host': 'dev.example:8443', 'x-forwarded-proto': 'https' }) ?? '', /not this dev server/)
  assert.match(reason({ host, origin: 'https://b.example', 'x-forwarded-host': 'a.example, b.example', 'x-forwarded-proto': 'https' }) ?? '', /not this dev server/)
  // Forms a browser never writes as Origin, and a header that is no host.
  assert.match(reason({ host, origin: `${PAGE}/`, ...xfh }) ?? '', /not this dev server/)
  assert.match(reason({ host, origin: 'https://a.example', 'x-forwarded-host': 'a.example/x', 'x-forwarded-proto': 'https' }) ?? '', /not this dev server \(localhost:5173\); add it/)
  // A scheme that is no web page's has an opaque origin, "null": never a match.
  assert.match(reason({ host, origin: 'null', 'x-forwarded-host': 'a.example', 'x-forwarded-proto': 'foo' }) ?? '', /^Origin "null" is not this dev server/)
  // The Host check comes first, and stays.
  assert.match(reason({ ...xfh, host: 'name-5173.app.github.dev', origin: PAGE }) ?? '', /^Host "name-5173\.app\.github\.dev" is not allowed/)
})

describe('a dev server behind a forwarder that rewrites Host', () => {
  const cleanup = suiteCleanup()
  let port, logs

  before(async () => {
    ;({ port, logs } = await startViteFor(cleanup, makeProject(cleanup)))
  })

  it('accepts the page the forwarder serves', async () => {
    const ws = await connectWs({ port, path: '/api/echo', headers: forwarder(port) })
    ws.send('through the forwarder')
    assert.equal(await ws.next(), 'through the forwarder')
    ws.close()
    assert.equal((await ws.closed).code, 1000)
  })

  it('refuses another Origin, an http page when the forwarder says https, and a Host not allowed', async () => {
    const cases = [
      [{ Origin: 'https://evil.example' },
        `Origin "https://evil.example" is not this dev server (localhost:${port}) nor the page X-Forwarded-Host names (${PAGE})`],
      [{ Origin: 'http://name-5173.app.github.dev' },
        `Origin "http://name-5173.app.github.dev" is not this dev server (localhost:${port}) nor the page X-Forwarded-Host names (${PAGE})`],
      [{ Host: 'name-5173.app.github.dev' },
        'Host "name-5173.app.github.dev" is not allowed; add it to server.allowedHosts in vite.config'],
    ]
    for (const [over, line] of cases) {
      const from = logs.lines.length
      const res = await upgrade({ port, path: '/api/echo', headers: forwarder(port, over) })
      assert.equal(res.status, 403, line)
      res.socket.destroy()
      await logs.waitFor(new RegExp(`refused /api/echo: ${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), { from })
    }
  })
})

/** A free port on 127.0.0.1, for nginx to listen on. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

/**
 * Debian's nginx as a forwarder in front of Vite at `vitePort`, as Codespaces' is: TLS ended
 * there (a self-signed certificate), Host rewritten to localhost, the browser's host and
 * scheme in X-Forwarded-Host/-Proto. Stopped when `owner` ends (as `startViteFor`). Resolves
 * with its port once it listens.
 */
async function startForwarder(owner, vitePort) {
  const cleanup = cleanupOf(owner)
  const folder = tempFolder(owner)
  const port = await freePort()
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => {
    mkdirSync(path.join(folder, kind))
    return `  ${kind}_temp_path ${path.join(folder, kind)};\n`
  }).join('')
  // As root, nginx's workers would run as `nobody`, who cannot read the test's folder.
  const user = process.getuid?.() === 0 ? 'user root;\n' : ''
  const key = path.join(folder, 'key.pem')
  const cert = path.join(folder, 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=dev.example'], { stdio: 'ignore', timeout: 20_000 })
  writeFileSync(path.join(folder, 'nginx.conf'), `${user}error_log stderr notice;\nworker_processes 1;\n` +
    'events { worker_connections 64; }\n' +
    `http {\n  access_log off;\n${temp}  server {\n    listen 127.0.0.1:${port} ssl;\n` +
    `    ssl_certificate ${cert};\n    ssl_certificate_key ${key};\n    location / {\n` +
    `      proxy_pass http://127.0.0.1:${vitePort};\n      proxy_http_version 1.1;\n` +
    '      proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection "upgrade";\n' +
    `      proxy_set_header Host localhost:${vitePort};\n` +
    '      proxy_set_header X-Forwarded-Host $http_host;\n      proxy_set_header X-Forwarded-Proto $scheme;\n' +
    '    }\n  }\n}\n')
  const nginx = spawn(NGINX, ['-p', folder, '-c', path.join(folder, 'nginx.conf'),
    '-g', `daemon off; pid ${path.join(folder, 'nginx.pid')};`], { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise((resolve) => nginx.once('exit', resolve))
  cleanup.add(async () => {
    if (nginx.exitCode === null) nginx.kill('SIGQUIT') // graceful: nginx's own stop signal
    await withTimeout(exited, WAIT_MS, 'nginx to stop')
  })
  // With `error_log stderr notice`, nginx says when its workers start: it listens then.
  let seen = ''
  await withTimeout(new Promise((resolve, reject) => {
    nginx.stderr.on('data', (chunk) => {
      seen += chunk
      if (seen.includes('start worker process')) resolve()
    })
    exited.then(() => reject(new Error(`nginx exited:\n${seen}`)))
  }), WAIT_MS, 'nginx to start')
  return port
}

it('through nginx as the forwarder: the page it serves connects, another site is refused',
  { skip: !existsSync(NGINX) && `no ${NGINX} (make services)` }, async (t) => {
    const { port: vitePort, logs } = await startViteFor(t, makeProject(t))
    const port = await startForwarder(t, vitePort)
    // The browser asked nginx for dev.example over https; nginx tells Vite so, and rewrites Host.
    const page = `https://dev.example:${port}`
    const ws = await connectWs({ port, path: '/api/echo', secure: true, headers: { Host: `dev.example:${port}`, Origin: page } })
    ws.send('through nginx')
    assert.equal(await ws.next(), 'through nginx')
    ws.close()
    assert.equal((await ws.closed).code, 1000)
    const other = await upgrade({ port, path: '/api/echo', secure: true, headers: { Host: `dev.example:${port}`, Origin: 'http://evil.example' } })
    assert.equal(other.status, 403)
    other.socket.destroy()
    await logs.waitFor(new RegExp(`refused /api/echo: Origin "http://evil\\.example" is not this dev server \\(localhost:${vitePort}\\) ` +
      `nor the page X-Forwarded-Host names \\(https://dev\\.example:${port}\\)`))
    // Straight to Vite, without the forwarder's headers, the same page is not this dev server.
    const direct = await upgrade({ port: vitePort, path: '/api/echo', headers: { Origin: page } })
    assert.equal(direct.status, 403)
    direct.socket.destroy()
  })
