// @ts-check
// What the sidecar says about its handlers, settings and callbacks, shown in Vite's terminal
// and overlay. The messages about the process itself (`ready`, `protocol_error`) change its
// state and stay with it in lib/sidecar.js.

import { reportCallbackError, reportError } from './report.js'
import { syncTypesFile } from './types-file.js'

/** @import { ReadyMessage, SidecarEvent } from './protocol.js' */
/** @import { Reporter } from './report.js' */
/** @import { StandingErrors } from './standing-errors.js' */

/**
 * Where an event is shown, and what it updates.
 * @typedef {object} EventTarget
 * @property {Reporter} reporter the newest Vite server's
 * @property {StandingErrors} standing the errors shown until their file is fixed
 * @property {string} cwd where the generated types file is kept in step
 * @property {ReadyMessage | null} info the running sidecar's `ready` message
 */

/**
 * @param {SidecarEvent} msg any type but `ready` and `protocol_error`
 * @param {EventTarget} to
 */
export function showEvent(msg, { reporter: r, standing, cwd, info }) {
  switch (msg.type) {
    case 'reloaded':
    case 'removed':
      // The errors of the code before that were counted so far are written first: after
      // this line they would read as errors of the new code, which starts a new count.
      r.failuresEnd(msg.file)
      // `ms`: from the save to the new code serving; `new`: the file was not there before;
      // `because`: the saved helpers it imports, which made it load again.
      r.info(msg.type === 'removed' ? `removed ${r.rel(msg.file)}`
        : `${msg.new ? 'added' : 'reloaded'} ${r.rel(msg.file)} (${(msg.patterns ?? []).join(', ') || 'no handlers'})` +
          (msg.ms === undefined ? '' : ` in ${Math.round(msg.ms)} ms`) + because(r, msg.because))
      handlersNow(info, msg)
      standing.fixed(msg.file)
      syncTypesFile(cwd, msg.types, r)
      break
    case 'endpoints':
      // The table after a batch of reloads whose last event did not carry it.
      handlersNow(info, msg)
      syncTypesFile(cwd, msg.types, r)
      break
    case 'loaded':
      // After a restart in the sidecar, a file that was broken may load at once; every
      // file's code is new then.
      r.failuresEnd(msg.file)
      r.debug(`loaded ${r.rel(msg.file)}`)
      standing.fixed(msg.file)
      break
    case 'config_ok':
      r.info(`${r.rel(msg.file)} changed, nothing to restart`)
      standing.fixed(msg.file)
      break
    case 'load_error':
    case 'config_error': {
      // A load error stands for the handler file that did not load (`source`), which may be
      // fixed by saving another (`file`, a helper it imports); a helper's error comes once for
      // all the handler files it failed (`sources`).
      const files = msg.sources ?? [msg.source ?? msg.file ?? '']
      // Their callbacks' errors counted so far are written before it, and the next one in
      // full: the code before keeps serving, and its next error comes after the save.
      if (msg.type === 'load_error') for (const file of files) if (file) r.failuresEnd(file)
      standing.stand(msg.type === 'load_error' ? 'load' : 'config', files, reportError(r, msg))
      break
    }
    case 'runtime_error': {
      // An event, not a state: only pages open now see it, until the handler file is saved.
      // The same error again soon is counted, not shown again (reportCallbackError).
      const shown = reportCallbackError(r, msg)
      if (shown) standing.passing(msg.file ?? '', shown)
      break
    }
    case 'log':
      r[msg.level === 'error' ? 'error' : msg.level === 'warning' ? 'warn' : 'info'](msg.message)
      break
    case 'stall':
      r.warn(`${msg.message}: ${msg.advice ?? 'use await, or run blocking work in a thread'}`)
      break
    default:
      r.debug(`sidecar: ${msg.type}`)
  }
}

// The saved helpers a `reloaded` line names, at most: the rest are counted.
const NAMED_HELPERS = 3

/**
 * A file reloaded for the helpers it imports names them, in its one line (their module-level
 * state starts afresh too): `: it imports ws/_state.py, which changed`; '' when there are none.
 * @param {Reporter} r
 * @param {string[] | undefined} helpers
 */
function because(r, helpers) {
  const files = (helpers ?? []).map((file) => r.rel(file))
  if (files.length === 0) return ''
  const named = files.length <= NAMED_HELPERS ? files
    : [...files.slice(0, NAMED_HELPERS), `${files.length - NAMED_HELPERS} more`]
  const list = named.length === 1 ? named[0] : `${named.slice(0, -1).join(', ')} and ${named.at(-1)}`
  return `: it imports ${list}, which changed`
}

/**
 * The endpoint table after a reload, for the URLs printed with Vite's (the `u` shortcut).
 * Updated in place: the identity of `info` marks one sidecar process (see whenReady).
 * @param {ReadyMessage | null} info
 * @param {{ handlers?: ReadyMessage['handlers'] }} msg
 */
function handlersNow(info, msg) {
  if (info && Array.isArray(msg.handlers)) info.handlers = msg.handlers
}
