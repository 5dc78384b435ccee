// A Vite dev server with the shim, in its own process, for the Python reliability tests.
// argv[2]: project folder; argv[3]: JSON { options, server } for startVite.
// stdout: one JSON line { port, sidecarPid } once the sidecar is ready, then every line
// Vite's logger receives as { log }.

import { startVite } from '../shim/helpers/project.js'

const settings = JSON.parse(process.argv[3] || '{}')
if (settings.options?.allowedOrigins) {
  settings.options.allowedOrigins = settings.options.allowedOrigins.map((o) => (o === 'null' ? null : o))
}
const { port, pid, logs } = await startVite(process.argv[2], settings)
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
say({ port, sidecarPid: pid })
for (const line of logs.lines) say({ log: line })
for (const method of ['info', 'warn', 'warnOnce', 'error']) {
  const original = logs.logger[method]
  logs.logger[method] = (msg, opts) => {
    say({ log: String(msg) })
    original(msg, opts)
  }
}
