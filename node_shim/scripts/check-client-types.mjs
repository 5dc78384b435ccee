// Type-checks tests/client/types (the client's typing contract, and the client's own
// JSDoc) with tsc --noEmit, twice: `npm run check:client` in node_shim.
import { spawnSync } from 'node:child_process'
import { symlinkSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('../../tests/client/types/', import.meta.url))
// The fixture imports 'vite-plugin-wsside/client' through node_modules and the package's
// `exports`, as a project that installed the plugin does (npm install there keeps only its
// TypeScript, so the link is made here).
try {
  symlinkSync('../../../../node_shim', `${fixture}node_modules/vite-plugin-wsside`, 'dir')
} catch (error) {
  if (error.code !== 'EEXIST') throw error
}

// The oldest TypeScript the types support (the fixture's own devDependency) and the newest
// tested (node_shim's).
const compilers = [
  `${fixture}node_modules/typescript/bin/tsc`,
  fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)),
]
let failed = false
for (const tsc of compilers) {
  const version = spawnSync(process.execPath, [tsc, '--version'], { encoding: 'utf8' }).stdout.trim()
  const run = spawnSync(process.execPath, [tsc, '-p', fixture], { stdio: 'inherit' })
  console.log(`${version}: ${run.status === 0 ? 'ok' : 'FAILED'}`)
  failed ||= run.status !== 0
}
process.exit(failed ? 1 : 0)
