// Real servers for the client's Node tests, on free loopback ports: the wsside sidecar
// (`wsside serve`) serving tests/client/handlers, and a Node server that refuses every
// upgrade with 503 and notes when each attempt came.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const PYTHON = process.env.WSSIDE_PYTHON ?? `${ROOT}.venv/bin/python`
const HANDLERS = fileURLToPath(new URL('../handlers/', import.meta.url))
const READY_MS = 30_000

export async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = /** @type {net.AddressInfo} */ (server.address())
  server.close()
  await once(server, 'close')
  return port
}

/** `wsside serve --no-reload` on a port of its own, which survives kill() and start(). */
export class Sidecar {
  static async start() {
    const sidecar = new Sidecar(await freePort())
    await sidecar.start()
    return sidecar
  }

  constructor(port) {
    this.port = port
    this.proc = null
  }

  url(path) {
    return `ws://127.0.0.1:${this.port}/api${path}`
  }

  /** Starts the process; resolves once it serves, fails with its output if it does not. */
  async start() {
    const proc = spawn(
      PYTHON,
      ['-m', 'wsside', 'serve', '--handlers', HANDLERS, '--host', '127.0.0.1', '--port', String(this.port), '--no-reload'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    )
    this.proc = proc
    let output = ''
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`wsside serve not ready in ${READY_MS} ms:\n${output}`)), READY_MS)
      proc.stderr.setEncoding('utf8').on('data', (chunk) => {
        output += chunk
        if (output.includes('serving on')) clearTimeout(timer), resolve(undefined)
      })
      proc.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`wsside serve exited (${code}) before serving:\n${output}`))
      })
    })
    // Drained from now on, so that a chatty sidecar never blocks on a full pipe.
    proc.stderr.resume()
  }

  /** Kills the process (SIGKILL by default: no close frames) and waits for its exit. */
  async kill(signal = 'SIGKILL') {
    const proc = this.proc
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = once(proc, 'exit')
    proc.kill(signal)
    await exited
  }
}

/** An HTTP server answering every WebSocket upgrade 503; `attempts` holds their times (ms). */
export async function refusingServer() {
  const attempts = []
  const server = http.createServer()
  server.on('upgrade', (request, socket) => {
    attempts.push(performance.now())
    server.emit('attempt', attempts.length)
    // The client may reset the connection once it has read the answer.
    socket.on('error', () => {})
    socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = /** @type {net.AddressInfo} */ (server.address())
  return {
    attempts,
    /** Emits `attempt` as each upgrade comes in. */
    server,
    url: `ws://127.0.0.1:${port}/api/ws/echo`,
    /** Resolves once `count` attempts have come. */
    async reach(count) {
      while (attempts.length < count) await once(server, 'attempt')
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}
