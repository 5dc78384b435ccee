// @ts-check
// The process-wide pool of sidecars, one per configuration. Vite restarts (config edits)
// build the new server before closing the old one, so a sidecar is held with a reference
// count: the new server acquires it before the old one releases it, and it only stops when
// nobody holds it. One that failed or stopped is replaced by a fresh one at the next acquire
// (a saved vite.config, a restarted Vite).

import { SidecarProcess } from './sidecar.js'

/** @import { Reporter } from './report.js' */
/** @import { SidecarSpec } from './sidecar.js' */

const POOL = Symbol.for('vite-plugin-wsside.sidecars')
const MADE = Symbol.for('vite-plugin-wsside.sidecars-made')
// Shared by every copy of this module in the process (a Vite restart may load a second one),
// as is the count of sidecars made, which orders them.
const holder = /** @type {{ [POOL]?: Map<string, SidecarProcess>, [MADE]?: number }} */ (globalThis)
/** @type {Map<string, SidecarProcess>} */
const sidecars = (holder[POOL] ??= new Map())

/**
 * The sidecar for `spec.key`, started if needed, held until `releaseSidecar`.
 * @param {SidecarSpec} spec
 * @param {Reporter} reporter
 */
export function acquireSidecar(spec, reporter) {
  let proc = sidecars.get(spec.key)
  // A configuration reload is a user action: give a failed sidecar a fresh start.
  if (!proc || proc.state === 'failed' || proc.state === 'stopped') {
    proc = new SidecarProcess(spec)
    proc.born = holder[MADE] = (holder[MADE] ?? 0) + 1
    sidecars.set(spec.key, proc)
  }
  proc.addReporter(reporter)
  proc.refs++
  return proc
}

/**
 * Drops one hold; the last one stops the sidecar gracefully.
 * @param {SidecarProcess} proc
 * @param {Reporter} reporter
 */
export function releaseSidecar(proc, reporter) {
  const i = proc.reporters.lastIndexOf(reporter)
  if (i >= 0 && proc.reporters.length > 1) proc.reporters.splice(i, 1)
  proc.refs--
  if (proc.refs > 0) return Promise.resolve()
  if (sidecars.get(proc.spec.key) === proc) sidecars.delete(proc.spec.key)
  // The sidecar that a restarted Vite acquired for the same project, with other options.
  const successor = [...sidecars.values()].find((other) => other.spec.cwd === proc.spec.cwd && other.born > proc.born)
  if (successor && proc.child && (proc.state === 'ready' || proc.state === 'starting')) {
    const changed = changedOptions(proc.spec, successor.spec)
    const names = changed.map((name) => `\`${name}\``)
    // `env` often comes from loadEnv: a .env file's save restarts Vite as vite.config's does.
    const by = changed.length === 1 && changed[0] === 'env' ? 'vite.config (or a .env file it loads)' : 'vite.config'
    reporter.info(`${by} changed wsside's ${names.join(', ') || 'options'}: a new sidecar takes over; ` +
      `the previous one (pid ${proc.child.pid}) closes its connections with 1001 Going Away, and clients ` +
      'reconnect to the new one')
  }
  return proc.shutdown()
}

/**
 * The names of wsside's options that differ between two sidecars' specs, as written in
 * wsside() (`handlers`, `python`, …).
 * @param {SidecarSpec} before
 * @param {SidecarSpec} after
 */
function changedOptions(before, after) {
  const names = /** @type {(keyof SidecarSpec['given'])[]} */ (Object.keys(before.given))
  return names.filter((name) => JSON.stringify(before.given[name]) !== JSON.stringify(after.given[name]))
}
