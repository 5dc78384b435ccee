// The refusal rules on their own: cases that need a dev server bound beyond loopback,
// which tests may not open.

import assert from 'node:assert/strict'
import { it } from 'node:test'
import { createReporter } from '../../node_shim/lib/report.js'
import { hostAllowed, listensOnLoopbackOnly, refusalReason, socketFamily } from '../../node_shim/lib/security.js'

const req = (headers) => ({ headers })
const context = (over = {}) => ({
  allowedHosts: [], checkHost: true, allowedOrigins: [], loopbackOnly: () => true, ...over,
})

it('follows Vite\'s allowedHosts semantics', () => {
  assert.ok(hostAllowed('localhost:5173', []))
  assert.ok(hostAllowed('app.localhost', []))
  assert.ok(hostAllowed('10.1.2.3:80', []))
  assert.ok(hostAllowed('[::1]:5173', []))
  assert.ok(!hostAllowed('example.com', []))
  assert.ok(hostAllowed('example.com', ['.example.com']))
  assert.ok(hostAllowed('a.b.example.com:1', ['.example.com']))
  assert.ok(!hostAllowed('badexample.com', ['.example.com']))
  assert.ok(hostAllowed('dev.test', ['dev.test']))
  assert.ok(hostAllowed('anything', true))
})

it('accepts a request without Origin only on loopback, or when allowedOrigins has null', () => {
  assert.equal(refusalReason(req({ host: 'localhost' }), context()), null)
  assert.match(refusalReason(req({ host: 'localhost' }), context({ loopbackOnly: () => false })), /no Origin header/)
  assert.equal(refusalReason(req({ host: 'localhost' }), context({ loopbackOnly: () => false, allowedOrigins: [null] })), null)
})

it('matches Origin against the Host, allowedOrigins strings and RegExps', () => {
  assert.equal(refusalReason(req({ host: 'localhost:5173', origin: 'http://localhost:5173' }), context()), null)
  assert.equal(refusalReason(req({ host: 'localhost:443', origin: 'https://localhost' }), context()), null)
  assert.match(refusalReason(req({ host: 'localhost:5173', origin: 'http://localhost:5174' }), context()), /not this dev server/)
  // A file:// page's opaque origin: the advice is the page's, not `null` (which means no Origin).
  const opaque = refusalReason(req({ host: 'localhost:5173', origin: 'null' }), context())
  assert.match(opaque ?? '', /^Origin "null" is not this dev server \(localhost:5173\): a page opened as a file \(file:\/\/\) sends it/)
  assert.doesNotMatch(opaque ?? '', /add it to the allowedOrigins/)
  assert.equal(refusalReason(req({ host: 'localhost:5173', origin: 'null' }), context({ allowedOrigins: ['null'] })), null)
  for (const origin of ['http://localhost:5173/app', 'http://localhost:5173/', 'http://localhost:5173?x=1', 'http://user@localhost:5173', 'http://LOCALHOST:5173']) {
    // forms a browser never sends as Origin
    assert.match(refusalReason(req({ host: 'localhost:5173', origin }), context()), /not this dev server/, origin)
  }
  assert.equal(refusalReason(req({ host: 'localhost', origin: 'https://app.example' }), context({ allowedOrigins: ['https://app.example'] })), null)
  assert.equal(refusalReason(req({ host: 'localhost', origin: 'https://x.example' }), context({ allowedOrigins: [/\.example$/] })), null)
  assert.match(refusalReason(req({ host: 'localhost', origin: 'null' }), context()), /not this dev server/)
  assert.equal(refusalReason(req({ host: 'localhost', origin: 'null' }), context({ allowedOrigins: ['null'] })), null)
})

it('names the server and the settings that apply to it: dev server, preview server, attachWsside', () => {
  const host = { host: 'evil.example' }
  const origin = { host: 'localhost:5173', origin: 'http://evil.example' }
  const words = (kind) => [refusalReason(req(host), context({ kind })), refusalReason(req(origin), context({ kind }))]
  assert.deepEqual(words(undefined), [
    'Host "evil.example" is not allowed; add it to server.allowedHosts in vite.config',
    'Origin "http://evil.example" is not this dev server (localhost:5173); add it to the allowedOrigins option of wsside()',
  ])
  assert.deepEqual(words('preview'), [
    'Host "evil.example" is not allowed; add it to preview.allowedHosts in vite.config',
    'Origin "http://evil.example" is not this preview server (localhost:5173); add it to the allowedOrigins option of wsside()',
  ])
  assert.deepEqual(words('attachWsside'), [
    'Host "evil.example" is not allowed; add it to the allowedHosts option of attachWsside()',
    'Origin "http://evil.example" is not this server (localhost:5173); add it to the allowedOrigins option of attachWsside()',
  ])
})

it('the lines that count refusals name the same server and setting as the refusals', () => {
  const lines = []
  const reporter = createReporter({ logger: { info() {}, warn: (line) => lines.push(line), error() {} } })
  for (const kind of ['dev', 'preview', 'attachWsside']) {
    // Past the first five of a kind, the others are counted: one more of each here.
    for (let i = 0; i < 6; i++) {
      reporter.refused('/api/echo', refusalReason(req({ host: `rebind${i}.example` }), context({ kind })))
      // An Origin that tries to pass for another server's words is a JSON string in the line.
      const origin = `http://evil${i}.example/" is not this x (`
      reporter.refused('/api/echo', refusalReason(req({ host: 'localhost', origin }), context({ kind })))
    }
  }
  reporter.flush()
  const counts = lines.filter((line) => /refused 1 more upgrade in the last/.test(line)).map((line) => line.replace(/^.*in the last 5 s /, ''))
  const named = '(the first 5 are named above)'
  assert.deepEqual(counts.sort(), [
    `from other Origins that are not this dev server nor in allowedOrigins ${named}`,
    `from other Origins that are not this preview server nor in allowedOrigins ${named}`,
    `from other Origins that are not this server nor in allowedOrigins ${named}`,
    `with other Hosts that are not in preview.allowedHosts ${named}`,
    `with other Hosts that are not in server.allowedHosts ${named}`,
    `with other Hosts that are not in the allowedHosts option of attachWsside() ${named}`,
  ])
})

it('skips the Host check when told to (TLS dev server, as Vite does)', () => {
  assert.equal(refusalReason(req({ host: 'evil.example' }), context({ checkHost: false })), null)
  assert.match(refusalReason(req({ host: 'evil.example' }), context()), /not allowed/)
})

it('tells loopback-only listening addresses and the family of their sockets', () => {
  const at = (address, family) => ({ address, family, port: 5173 })
  assert.ok(listensOnLoopbackOnly(at('127.0.0.1', 'IPv4')))
  assert.ok(listensOnLoopbackOnly(at('::1', 'IPv6')))
  assert.ok(listensOnLoopbackOnly(at('::ffff:127.0.0.1', 'IPv6')))
  assert.ok(listensOnLoopbackOnly('/tmp/vite.sock'))
  assert.ok(!listensOnLoopbackOnly(at('0.0.0.0', 'IPv4')))
  assert.ok(!listensOnLoopbackOnly(at('::', 'IPv6')))
  assert.ok(!listensOnLoopbackOnly(null))
  assert.equal(socketFamily(at('0.0.0.0', 'IPv4')), 'IPv4')
  assert.equal(socketFamily(at('::', 'IPv6')), 'IPv6')
  assert.equal(socketFamily('/tmp/vite.sock'), undefined)
  assert.equal(socketFamily(null), undefined)
})
