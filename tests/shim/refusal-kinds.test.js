// Upgrades refused for Origins (or Hosts, or paths) that each differ, against a real Vite and
// sidecar: a page can open frames from any number of subdomains, each with its own Origin.
// Vite's terminal names the first few and counts the others (lib/repeats.js), in a number of
// lines that does not grow with the number of refusals, and the counts add up to them all.

import assert from 'node:assert/strict'
import { it } from 'node:test'
import { makeProject, startViteFor } from './helpers/project.js'
import { upgrade } from './helpers/ws-client.js'

const COUNT = 500
const NAMED = 5 // lib/repeats.js NAMED_PER_KIND
const BATCH = 50

/** Sends COUNT upgrades, BATCH at a time, each with `headers(i)`; each must get a 403. */
async function refuseAll(port, headers, path = () => '/api/echo') {
  for (let start = 0; start < COUNT; start += BATCH) {
    await Promise.all(Array.from({ length: BATCH }, async (_, k) => {
      const res = await upgrade({ port, path: path(start + k), headers: headers(start + k) })
      assert.equal(res.status, 403)
      res.socket.destroy()
    }))
  }
}

/**
 * The refusal lines written once Vite closed (which writes the counts not yet written), and
 * the number of refusals the count lines add up to.
 */
async function refusalLines(vite, logs) {
  await vite.close()
  const lines = logs.lines.filter((line) => line.includes('refused '))
  const counted = lines.map((line) => /refused (\d+) more upgrades? in the last 5 s/.exec(line))
    .reduce((sum, m) => sum + (m ? Number(m[1]) : 0), 0)
  return { lines, counted }
}

it(`${COUNT} distinct refused Origins: the first ${NAMED} named, the others counted`, { timeout: 60_000 }, async (t) => {
  const { vite, port, logs } = await startViteFor(t, makeProject(t))
  await refuseAll(port, (i) => ({ Origin: `http://evil${i}.com` }))
  // The count is written when its 5 s window ends, without waiting for Vite to close.
  await logs.waitFor(/refused \d+ more upgrades in the last 5 s from other Origins/, { ms: 15_000 })
  const { lines, counted } = await refusalLines(vite, logs)
  const named = lines.filter((line) => /refused \/api\/echo: Origin "http:\/\/evil\d+\.com" is not this dev server/.test(line))
  assert.equal(named.length, NAMED, lines.join('\n'))
  assert.match(lines.at(-1), /refused \d+ more upgrades in the last 5 s from other Origins that are not this dev server nor in allowedOrigins \(the first 5 are named above\)$/)
  assert.equal(counted, COUNT - NAMED, lines.join('\n'))
  // One count line per 5 s window at most, while the flood lasts.
  assert.ok(lines.length <= NAMED + 4, lines.join('\n'))
})

it('distinct refused Hosts and distinct paths are counted alike', { timeout: 60_000 }, async (t) => {
  const { vite, port, logs } = await startViteFor(t, makeProject(t))
  await refuseAll(port, (i) => ({ Host: `rebind${i}.example:${port}` }))
  await refuseAll(port, () => ({ Origin: 'http://evil.example' }), (i) => `/api/echo${i}`)
  const { lines, counted } = await refusalLines(vite, logs)
  const hosts = lines.filter((line) => /refused \/api\/echo: Host "rebind\d+\.example:\d+" is not allowed/.test(line))
  assert.equal(hosts.length, NAMED, lines.join('\n'))
  assert.ok(lines.some((line) => /refused \d+ more upgrades in the last 5 s with other Hosts that are not in server.allowedHosts/.test(line)), lines.join('\n'))
  const paths = lines.filter((line) => /refused \/api\/echo\d+: Origin "http:\/\/evil\.example"/.test(line))
  assert.equal(paths.length, NAMED, lines.join('\n'))
  assert.ok(lines.some((line) => /refused \d+ more upgrades in the last 5 s from other Origins/.test(line)), lines.join('\n'))
  assert.equal(counted, 2 * (COUNT - NAMED), lines.join('\n'))
  assert.ok(lines.length <= 2 * NAMED + 8, lines.join('\n'))
})
