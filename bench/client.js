// The load generator: raw `net` (or `tls`) sockets speaking RFC 6455 with pre-built masked
// frames, so that the client costs as little CPU as possible. No dependencies.
//
//   node client.js MODE --port N [--tls] [options]     (one JSON line per event on stdout)
//
// MODE: latency | throughput | broadcast | handshake | idle. Every mode is bounded in count
// and time (--timeout-s) and exits by itself. The harness samples server CPU from /proc when
// it reads {"event":"start"} and {"event":"end"}; the last line is {"event":"result",...}
// with the client's own CPU over the measured phase. `idle` prints {"event":"ready"} once
// every connection is open and holds them until stdin closes.

import { createHash } from 'node:crypto'
import net from 'node:net'
import tls from 'node:tls'

const MODES = new Set(['latency', 'throughput', 'broadcast', 'handshake', 'idle'])
const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
const ACCEPT = createHash('sha1').update(KEY + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64')
const MASK = Buffer.from([0x12, 0x34, 0x56, 0x78])
const PAYLOAD_SIZE = 64

function parseArgs(argv) {
  const [mode, ...rest] = argv
  if (!MODES.has(mode)) fail(`usage: node client.js ${[...MODES].join('|')} --port N [options]`)
  const opts = {
    mode, host: '127.0.0.1', port: 0, tls: false, path: '/api/ws/echo', senderPath: null,
    // Not valid JSON (so the Python side need not try to parse it), printable ASCII.
    payload: 'x'.repeat(PAYLOAD_SIZE - 8) + 'benchmsg',
    count: 0, warmup: 0, clients: 50, durationS: 10, warmupS: 1, receivers: 500, messages: 1000,
    concurrency: 100, timeoutS: 120,
  }
  const names = {
    '--host': 'host', '--port': 'port', '--path': 'path', '--sender-path': 'senderPath',
    '--count': 'count', '--warmup': 'warmup', '--clients': 'clients', '--duration-s': 'durationS',
    '--warmup-s': 'warmupS', '--receivers': 'receivers', '--messages': 'messages',
    '--concurrency': 'concurrency', '--timeout-s': 'timeoutS', '--payload': 'payload',
  }
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--tls') opts.tls = true
    else if (names[rest[i]]) {
      const name = names[rest[i]]
      const value = rest[++i]
      opts[name] = typeof opts[name] === 'number' ? Number(value) : value
    } else fail(`unknown argument ${rest[i]}`)
  }
  if (!opts.port) fail('--port is required')
  return opts
}

function fail(message) {
  process.stderr.write(`client.js: ${message}\n`)
  process.exit(2)
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

/** A masked client frame (payload < 126 bytes). */
function clientFrame(opcode, payload) {
  const head = Buffer.from([0x80 | opcode, 0x80 | payload.length])
  const masked = Buffer.alloc(payload.length)
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ MASK[i & 3]
  return Buffer.concat([head, MASK, masked])
}

const opts = parseArgs(process.argv.slice(2))
// The text every message carries (--payload, under 126 bytes: one frame header size).
const PAYLOAD = Buffer.from(opts.payload)
const TEXT_FRAME = clientFrame(0x1, PAYLOAD)
const REPLY = Buffer.concat([Buffer.from([0x81, PAYLOAD.length]), PAYLOAD])
const CLOSE_FRAME = clientFrame(0x8, Buffer.from([0x03, 0xe8]))

// Plain TCP sockets read into one shared buffer through `onread`: no stream machinery and no
// new Buffer per read, so the client spends its CPU on the bytes (with 500 receivers that is
// the difference between measuring the client and measuring the server). TLS sockets (the
// pipe variant) read through 'data' events. A reader copies what it keeps.
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024)

/**
 * Opens one WebSocket. Resolves to { socket, read } once the 101 is checked (status, accept
 * key, no extension); `read(fn)` hands every later chunk to `fn`, starting with any bytes
 * that came before it was called (after the response head).
 */
function connect(opts, path) {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0) // the response head so far; null once the 101 is checked
    let reader = null
    const early = []
    const read = (fn) => {
      reader = fn
      for (const chunk of early.splice(0)) fn(chunk)
    }
    const refuse = (message) => {
      socket.destroy()
      reject(new Error(`${path}: ${message}`))
    }
    const deliver = (chunk) => {
      if (head === null) {
        if (reader !== null) reader(chunk)
        else early.push(Buffer.from(chunk))
        return
      }
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      const [status, ...lines] = head.subarray(0, end).toString('latin1').split('\r\n')
      const headers = Object.fromEntries(lines.map((l) => {
        const i = l.indexOf(':')
        return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()]
      }))
      if (!/^HTTP\/1\.1 101 /.test(status)) return refuse(`expected 101, got ${status}`)
      if (headers['sec-websocket-accept'] !== ACCEPT) return refuse('wrong Sec-WebSocket-Accept')
      if (headers['sec-websocket-extensions']) {
        return refuse(`unexpected extension ${headers['sec-websocket-extensions']}`)
      }
      if (end + 4 < head.length) early.push(head.subarray(end + 4))
      head = null
      socket.off('error', reject)
      resolve({ socket, read })
    }
    const options = { host: opts.host, port: opts.port }
    const socket = opts.tls
      ? tls.connect({ ...options, rejectUnauthorized: false, servername: 'localhost' })
      : net.connect({ ...options, onread: { buffer: READ_BUFFER, callback: (n, buf) => deliver(buf.subarray(0, n)) } })
    if (opts.tls) socket.on('data', deliver)
    socket.setNoDelay(true)
    socket.on('error', reject)
    socket.on(opts.tls ? 'secureConnect' : 'connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${opts.host}:${opts.port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      )
    })
  })
}

/**
 * Checks a stream of identical 66-byte replies byte for byte; calls `onReply` per complete
 * reply. Returns the function to feed chunks to.
 */
function replyChecker(onReply, onError) {
  let offset = 0
  return (chunk) => {
    let i = 0
    while (i < chunk.length) {
      const n = Math.min(REPLY.length - offset, chunk.length - i)
      if (chunk.compare(REPLY, offset, offset + n, i, i + n) !== 0) {
        return onError(new Error(`unexpected bytes from the server: ${chunk.subarray(i, i + 16).toString('hex')}`))
      }
      i += n
      offset += n
      if (offset === REPLY.length) {
        offset = 0
        onReply()
      }
    }
  }
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

function cpuSince(start) {
  const d = process.cpuUsage(start)
  return (d.user + d.system) / 1e6
}

async function latency(opts) {
  const { socket, read } = await connect(opts, opts.path)
  const total = opts.warmup + opts.count
  const samples = new Float64Array(opts.count)
  return new Promise((resolve, reject) => {
    let done = 0
    let sentAt = 0n
    let cpu = null
    let t0 = 0n
    const sendOne = () => {
      if (done === opts.warmup) {
        emit({ event: 'start' })
        cpu = process.cpuUsage()
        t0 = process.hrtime.bigint()
      }
      sentAt = process.hrtime.bigint()
      socket.write(TEXT_FRAME)
    }
    const feed = replyChecker(() => {
      const now = process.hrtime.bigint()
      if (done >= opts.warmup) samples[done - opts.warmup] = Number(now - sentAt) / 1e3
      done++
      if (done < total) return sendOne()
      const seconds = Number(now - t0) / 1e9
      const clientCpu = cpuSince(cpu)
      emit({ event: 'end' })
      socket.destroy()
      const sorted = Array.from(samples).sort((a, b) => a - b)
      resolve({
        round_trips: opts.count, seconds, p50_us: percentile(sorted, 50), p99_us: percentile(sorted, 99),
        client_cpu_s: clientCpu,
      })
    }, reject)
    read(feed)
    socket.on('error', reject)
    socket.on('close', () => done < total && reject(new Error('connection closed during the latency test')))
    sendOne()
  })
}

async function openMany(opts, path, n) {
  const sockets = []
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      sockets.push(await connect(opts, path))
    }
  }
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, n) }, worker))
  return sockets
}

async function throughput(opts) {
  const conns = await openMany(opts, opts.path, opts.clients)
  let counting = false
  let count = 0
  let stopped = false
  let failure = null
  for (const { socket, read } of conns) {
    read(replyChecker(() => {
      if (counting) count++
      if (!stopped) socket.write(TEXT_FRAME)
    }, (err) => (failure = err)))
    socket.on('error', (err) => (failure ??= err))
    socket.on('close', () => stopped || (failure ??= new Error('connection closed during the test')))
    socket.write(TEXT_FRAME)
  }
  await sleep(opts.warmupS * 1000)
  emit({ event: 'start' })
  const cpu = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  counting = true
  await sleep(opts.durationS * 1000)
  counting = false
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const clientCpu = cpuSince(cpu)
  emit({ event: 'end' })
  stopped = true
  for (const { socket } of conns) socket.destroy()
  if (failure) throw failure
  return { round_trips: count, seconds, rate: count / seconds, client_cpu_s: clientCpu }
}

async function broadcast(opts) {
  const receivers = await openMany(opts, opts.path, opts.receivers)
  const sender = await connect(opts, opts.senderPath)
  const expected = opts.receivers * opts.messages
  let delivered = 0
  let failure = null
  let finish
  const finished = new Promise((resolve) => (finish = resolve))
  for (const { socket, read } of receivers) {
    read(replyChecker(() => {
      if (++delivered === expected) finish()
    }, (err) => (failure = err, finish())))
    socket.on('error', (err) => (failure ??= err, finish()))
  }
  // The server joins a receiver to the room in on_connect, which may run just after its 101.
  await sleep(200)
  emit({ event: 'start' })
  const cpu = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  sender.socket.write(Buffer.concat(Array(opts.messages).fill(TEXT_FRAME)))
  await finished
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const clientCpu = cpuSince(cpu)
  emit({ event: 'end' })
  for (const { socket } of [...receivers, sender]) socket.destroy()
  if (failure) throw failure
  return { deliveries: delivered, seconds, rate: delivered / seconds, client_cpu_s: clientCpu }
}

/** Open, upgrade, close handshake, wait for the server to end TCP: one at a time. The first
 * `--warmup` connections are timed on their own (a fresh server's cold start), not measured. */
async function handshake(opts) {
  const w0 = process.hrtime.bigint()
  for (let i = 0; i < opts.warmup; i++) await oneHandshake(opts)
  const warmupS = Number(process.hrtime.bigint() - w0) / 1e9
  emit({ event: 'start' })
  const cpu = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < opts.count; i++) await oneHandshake(opts)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const clientCpu = cpuSince(cpu)
  emit({ event: 'end' })
  return {
    connections: opts.count, seconds, rate: opts.count / seconds, client_cpu_s: clientCpu,
    warmup: opts.warmup, warmup_rate: opts.warmup ? opts.warmup / warmupS : null,
  }
}

async function oneHandshake(opts) {
  const { socket, read } = await connect(opts, opts.path)
  await new Promise((resolve, reject) => {
    let got = Buffer.alloc(0)
    read((chunk) => (got = Buffer.concat([got, chunk])))
    socket.on('error', reject)
    socket.on('end', () => socket.end())
    socket.on('close', () => {
      // The server's close frame: FIN+close opcode, echoing code 1000.
      if (got.length >= 4 && got[0] === 0x88 && got.readUInt16BE(2) === 1000) resolve()
      else reject(new Error(`no close frame from the server (got ${got.toString('hex')})`))
    })
    socket.write(CLOSE_FRAME)
  })
}

async function idle(opts) {
  const conns = await openMany(opts, opts.path, opts.count)
  let lost = 0
  for (const { socket, read } of conns) {
    read(() => {})
    socket.on('error', () => {})
    socket.on('close', () => lost++)
  }
  emit({ event: 'ready', connections: conns.length })
  await new Promise((resolve) => {
    process.stdin.on('end', resolve)
    process.stdin.on('close', resolve)
    process.stdin.resume()
  })
  for (const { socket } of conns) socket.destroy()
  return { connections: conns.length, lost }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const timer = setTimeout(() => fail(`${opts.mode}: gave up after ${opts.timeoutS} s`), opts.timeoutS * 1000)
timer.unref()
const run = { latency, throughput, broadcast, handshake, idle }[opts.mode]
run(opts).then(
  (result) => {
    emit({ event: 'result', mode: opts.mode, ...result })
    process.exit(0)
  },
  (err) => fail(`${opts.mode}: ${err.message}`),
)
