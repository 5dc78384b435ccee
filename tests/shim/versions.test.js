// The Vite versions the plugin admits are the ones its tests run on (README, Plugin options): each major of
// node_shim's peerDependencies has its package here, and its oldest admitted release is the
// one installed for the oldest major.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { it } from 'node:test'
import { VITE_PACKAGES } from './helpers/project.js'

const require = createRequire(import.meta.url)
const shim = JSON.parse(readFileSync(new URL('../../node_shim/package.json', import.meta.url), 'utf8'))

/** [major, minor, patch] */
const parts = (version) => version.split('.').map(Number)

it('peerDependencies admit exactly the Vite majors the tests run on, from the releases they run', () => {
  const ranges = shim.peerDependencies.vite.split('||').map((range) => {
    const floor = range.trim().match(/^\^(\d+\.\d+\.\d+)$/)
    assert.ok(floor, `${range.trim()}: expected ^major.minor.patch`)
    return parts(floor[1])
  })
  assert.deepEqual(ranges.map(([major]) => String(major)), Object.keys(VITE_PACKAGES))
  for (const floor of ranges) {
    const installed = parts(require(`${VITE_PACKAGES[floor[0]]}/package.json`).version)
    assert.equal(installed[0], floor[0])
    assert.ok(installed[1] > floor[1] || (installed[1] === floor[1] && installed[2] >= floor[2]),
      `Vite ${installed.join('.')} is below the range's floor ${floor.join('.')}`)
  }
  const oldest = ranges[0]
  assert.equal(require(`${VITE_PACKAGES[oldest[0]]}/package.json`).version, oldest.join('.'),
    'the oldest Vite the plugin admits is the one tested')
})
