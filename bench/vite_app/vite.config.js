// One Vite app for every variant that goes through Vite; bench/run.py picks the variant with
// BENCH_VARIANT and passes what it needs in the environment:
//   handover  wsside plugin, plain HTTP: sockets are handed to the sidecar
//   pipe      wsside plugin, HTTPS (BENCH_CERT_DIR): the shim pipes bytes over a Unix socket
//   proxy     no plugin; Vite's server.proxy (ws: true) to `wsside serve` on BENCH_UPSTREAM_PORT
//   node      the pure-Node reference plugin (../node_ref), `ws` inside Vite
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { defineConfig } from 'vite'
import wsside from 'vite-plugin-wsside'
import { WebSocketServer } from 'ws'
import nodeReference from '../node_ref/index.js'

const variant = process.env.BENCH_VARIANT
const handlers = path.resolve(import.meta.dirname, '../handlers')

function variantConfig() {
  switch (variant) {
    case 'handover':
      return { plugins: [wsside({ handlers })] }
    case 'pipe': {
      const dir = process.env.BENCH_CERT_DIR
      const https = { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }
      return { plugins: [wsside({ handlers })], server: { https } }
    }
    case 'proxy':
      return {
        server: {
          proxy: { '/api': { target: `http://127.0.0.1:${process.env.BENCH_UPSTREAM_PORT}`, ws: true } },
        },
      }
    case 'node':
      return { plugins: [nodeReference({ WebSocketServer })] }
    default:
      throw new Error(`BENCH_VARIANT must be handover, pipe, proxy or node, not ${variant}`)
  }
}

const config = variantConfig()
export default defineConfig({
  ...config,
  clearScreen: false,
  optimizeDeps: { noDiscovery: true, include: [] },
  server: { ...config.server, host: '127.0.0.1', strictPort: true },
})
