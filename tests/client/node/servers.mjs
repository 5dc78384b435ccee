// Real servers for the client's Node tests, on free loopback ports: the wsside sidecar
// (`wsside serve`) serving tests/client/handlers, a Node server that refuses every
// upgrade with 503 and notes when each attempt came, and one that never answers.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const PYTHON = process.env.WSSIDE_PYTHON ?? `${ROOT}.venv/bin/python`
const HANDLERS = fileURLToPath(new URL('../handlers/', import.meta.url))
const READY_MS = 30_000
// How long reach() waits for all its attempts: the most a test awaits, six attempts at waits
// of at most 400 ms, takes about 2 s.
const REACH_MS = 10_000

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

  /**
   * Starts the process; resolves once it serves, fails with its output if it does not (the
   * process stopped first: a caller whose start failed has nothing to kill).
   */
  async start() {
    const proc = spawn(
      PYTHON,
      ['-m', 'wsside', 'serve', '--handlers', HANDLERS, '--host', '127.0.0.1', '--port', String(this.port), '--no-reload'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    )
    this.proc = proc
    let output = ''
    try {
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
        proc.once('error', (error) => {
          clearTimeout(timer)
          reject(new Error(`wsside serve did not start (${PYTHON}): ${error.message}`))
        })
      })
    } catch (error) {
      await this.kill()
      throw error
    }
    // Drained from now on, so that a chatty sidecar never blocks on a full pipe.
    proc.stderr.resume()
  }

  /** Kills the process (SIGKILL by default: no close frames) and waits for its exit. */
  async kill(signal = 'SIGKILL') {
    const proc = this.proc
    // No pid: it never started (spawn failed), so there is nothing to wait for.
    if (!proc || proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = once(proc, 'exit')
    proc.kill(signal)
    await exited
  }
}

/** An HTTP server answering every WebSocket upgrade 503; `attempts` holds their times (ms). */
export async function refusingServer() {
  const server = http.createServer()
  server.on('upgrade', (request, socket) => {
    attempt(performance.now())
    // The client may reset the connection once it has read the answer.
    socket.on('error', () => {})
    socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
  })
  const { attempts, attempt, ...rest } = await attempted(server)
  return { attempts, ...rest }
}

/** A TCP server that accepts each connection and never answers; `attempts` holds them. */
export async function silentServer() {
  const server = net.createServer((connection) => {
    connection.on('error', () => {})
    attempt(connection)
  })
  const { attempts, attempt, close, ...rest } = await attempted(server)
  return {
    attempts,
    ...rest,
    close: () => {
      for (const connection of attempts) connection.destroy()
      return close()
    },
  }
}

/**
 * `server` listening on a free loopback port, with what the servers above share: `attempt(x)`
 * notes an attempt in `attempts` and emits `attempt` on `server`; `reach(count)` resolves once
 * `count` attempts have come, and rejects if they have not within `ms` (one limit for them all).
 */
async function attempted(server) {
  const attempts = []
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = /** @type {net.AddressInfo} */ (server.address())
  return {
    attempts,
    attempt(value) {
      attempts.push(value)
      server.emit('attempt', attempts.length)
    },
    server,
    url: `ws://127.0.0.1:${port}/api/ws/echo`,
    async reach(count, ms = REACH_MS) {
      const signal = AbortSignal.timeout(ms)
      try {
        while (attempts.length < count) await once(server, 'attempt', { signal })
      } catch (err) {
        if (!signal.aborted) throw err
        throw new Error(`${attempts.length} of ${count} attempts came to port ${port} within ${ms} ms`)
      }
    },
    close: () => {
      // An HTTP server's close waits for its connections, which the client may keep for
      // seconds after an answer it refused: ended at once, as the test is over.
      if (server instanceof http.Server) server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}
