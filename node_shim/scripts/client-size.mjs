// Prints the size of vite-plugin-wsside/client as a page downloads it: minified by the
// minifier of the Vite installed beside the plugin (oxc in Vite 8, esbuild before), then
// gzipped at level 9. `npm run size:client` in node_shim.
import { readFile } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import * as vite from 'vite'

const file = new URL('../client/index.js', import.meta.url)
const source = await readFile(file, 'utf8')
const minified = vite.minify
  ? (await vite.minify('index.js', source, { module: true })).code
  : (await vite.transformWithEsbuild(source, 'index.js', { minify: true, format: 'esm' })).code
const gzipped = gzipSync(minified, { level: 9 }).length
console.log(`client/index.js: ${source.length} B source, ${minified.length} B minified, ${gzipped} B minified+gzipped (Vite ${vite.version})`)
