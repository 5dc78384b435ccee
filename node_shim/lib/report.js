// @ts-check
// Where the sidecar's status goes: Vite's logger, and for errors also the browser overlay,
// where an error that stands (lib/standing-errors.js) stays until it is fixed. A refused upgrade is
// a warning that comes in bursts: identical ones are grouped, and those that differ only by
// what the client chose are counted past the first few (lib/repeats.js). Those refused while
// the sidecar is down are written once, and counted until it is ready.

import path from 'node:path'
import { NAMED_PER_KIND, RepeatedLines, Spell } from './repeats.js'

/** @import { WebSocketServer } from 'vite' */
/** @import { ErrorEvent, HandlerInfo } from './protocol.js' */

/**
 * Where lines go: Vite's logger, or the `logger` option of attachWsside.
 * @typedef {object} Logger
 * @property {(msg: string, options?: { timestamp?: boolean }) => void} info
 * @property {(msg: string, options?: { timestamp?: boolean }) => void} warn
 * @property {(msg: string, options?: { timestamp?: boolean }) => void} error
 */

/**
 * What the browser overlay shows; `loc` is where the overlay points (the Python file and line).
 * @typedef {{ message: string, stack?: string, id?: string,
 *   loc?: { file: string, line: number, column: number } }} OverlayError
 */

/** @typedef {ReturnType<typeof createReporter>} Reporter */

/**
 * One of wsside's own lines: its level (none for a line wsside wrote outside its logging,
 * shown as info) and its text.
 * @typedef {{ level: 'debug' | 'info' | 'warning' | 'error' | undefined, text: string }} OwnLine
 */

/**
 * Reads the lines of a sidecar process started with `mark` (random, per process: PROTOCOL.md):
 * wsside's own, `wsside:<mark>:<level>: text` (its logging, `_edge/logs.py`) or
 * `wsside:<mark>: text` (written outside its logging, as an exit that says why), as their
 * level and text; null for any other line, such as a handler's print of a client's message
 * that looks like one of wsside's (`wsside:error: ...`) but cannot know the mark.
 * @param {string} mark
 * @returns {(line: string) => OwnLine | null}
 */
export function ownLines(mark) {
  const own = new RegExp(`^wsside:${mark.replace(/[^\w]/g, '\\$&')}(?::(debug|info|warning|error))?: (.*)$`, 's')
  return (line) => {
    const said = own.exec(line)
    return said === null ? null : { level: /** @type {OwnLine['level']} */ (said[1]), text: said[2] }
  }
}

const TAG = '[wsside]'
const CLEAR_EVENT = 'wsside:clear-error'
/**
 * Under the traceback of a callback's error in the overlay, which covers every open page
 * until Esc: the option that keeps wsside's errors off the pages (Vite's own footer names
 * server.hmr.overlay, which turns off every plugin's). Not under a load error, which stands
 * until fixed and should be seen.
 */
const OVERLAY_OFF_HINT = 'wsside({ overlay: false }) keeps Python errors in the terminal only'

/**
 * Appended to Vite's client module (/@vite/client), whose createHotContext it uses: Vite only
 * clears its error overlay on the next HMR update, and a fixed Python file is no module update,
 * so the page removes the overlay naming that file.
 */
export const OVERLAY_CLIENT = `createHotContext('/@wsside/overlay').on('${CLEAR_EVENT}', ({ file }) => {
  for (const overlay of document.querySelectorAll('vite-error-overlay')) {
    if (overlay.shadowRoot?.textContent?.includes(file)) overlay.remove()
  }
})`

function debugEnabled() {
  return /(^|[\s,])(wsside|\*)([\s,]|$)/.test(process.env.DEBUG ?? '')
}

/** @param {OverlayError} err */
const errorPayload = (err) => ({ type: /** @type {const} */ ('error'), err: { plugin: 'wsside', stack: '', ...err } })

/**
 * A reporter for one Vite server: `logger` is Vite's logger, `hot` its HMR channel (absent
 * for `vite preview` and attachWsside), `overlay` false keeps errors off the pages (the
 * plugin's option), `root` shortens file names, `wsBase()` is the browser-facing ws://
 * origin or null before the server listens.
 * `proxied`: the key of the `server.proxy` rule (with `ws: true`) that takes a URL's upgrades,
 * or null.
 * @param {{ logger: Logger, hot?: WebSocketServer | null, overlay?: boolean, root?: string,
 *   wsBase?: () => string | null, proxied?: (url: string) => string | null }} context
 */
export function createReporter({ logger, hot = null, overlay = true, root = process.cwd(), wsBase = () => null, proxied = () => null }) {
  const pages = overlay ? hot : null
  const opts = { timestamp: true }
  // Read once: DEBUG is set when Vite starts, and upgrades should not pay for the lookup.
  const debugging = debugEnabled()
  /** @param {string} file */
  const rel = (file) => (path.isAbsolute(file) ? path.relative(root, file) || file : file)
  /** @param {string} text */
  const warn = (text) => logger.warn(`${TAG} ${text}`, opts)
  const refusals = new RepeatedLines(warn, (kind, count, seconds) =>
    `refused ${count} more upgrade${count === 1 ? '' : 's'} in the last ${seconds} s ${kind}`)
  const failures = new RepeatedLines((text) => logger.error(`${TAG} ${text}`, opts))
  const whileDown = new Spell(warn, (count, paths, more) => `refused ${count} more upgrade${count === 1 ? '' : 's'} ` +
    `while the sidecar was not ready (${listed(paths, more)})`, NAMED_PATHS)
  return {
    rel,
    /** @param {string} text */
    info: (text) => logger.info(`${TAG} ${text}`, opts),
    warn,
    /**
     * A refused upgrade, and why: the first of a burst at once, the identical ones after it
     * counted, and past the first few of a kind (other paths, Origins or Hosts) all counted
     * (lib/repeats.js).
     * @param {string} pathname
     * @param {string} reason
     */
    refused: (pathname, reason) => refusals.write(`refused ${pathname}: ${reason}`, refusalKind(reason)),
    /**
     * An upgrade refused because the sidecar cannot serve now (`reason`: it failed, is
     * starting, or its config has an error): written once per reason, the others counted
     * until readyAgain(). Pages reconnect in a loop, on each of their paths, and a line for
     * each would bury the one that says how to get the sidecar back.
     * @param {string} pathname
     * @param {string} reason
     */
    refusedWhileDown: (pathname, reason) => whileDown.write(reason, pathname,
      `refused ${pathname}: ${reason}; the upgrades refused until it is ready are counted, not written`),
    /** The sidecar is ready: the count of the upgrades refused while it was not is written now, before its ready line. */
    readyAgain: () => whileDown.over(),
    /**
     * A callback's error (`line`: its first line, with the exception's class and not its
     * message; `text`: in full, with the traceback): written unless the same `line` was
     * within the window, which counts it (lib/repeats.js). Whether it was written.
     * @param {string} line
     * @param {string} text
     */
    failed: (line, text) => failures.write(line, line, text),
    /**
     * `file`'s code is replaced (it loads again, failed to load, or is gone): the errors of
     * its callbacks counted so far are written now, and their next ones at once.
     * @param {string} file
     */
    failuresEnd: (file) => failures.end((line) => line.includes(` of ${rel(file)}:`)),
    /** Writes the refusals and errors counted and not yet written (when the server closes). */
    flush: () => {
      refusals.flush()
      whileDown.over()
      failures.flush()
    },
    /** @param {string} text */
    error: (text) => logger.error(`${TAG} ${text}`, opts),
    /**
     * A line of the sidecar's stdout or stderr: wsside's own (`own`, as ownLines read it)
     * once prefixed, at its level; anything else (null: a handler's print, a Python crash) as
     * `py: ` and the line.
     * @param {string} line
     * @param {OwnLine | null} own
     */
    output(line, own) {
      if (own === null) logger.info(`${TAG} py: ${line}`, opts)
      else if (own.level === 'error') logger.error(`${TAG} ${own.text}`, opts)
      else if (own.level === 'warning') logger.warn(`${TAG} ${own.text}`, opts)
      else logger.info(`${TAG} ${own.text}`, opts)
    },
    debugging,
    /** @param {string} text */
    debug: (text) => {
      if (debugging) logger.info(`${TAG} ${text}`, opts)
    },
    /**
     * Shows `err` on the pages open now. Not sent while none is: Vite would keep it for the
     * next page, even once fixed (errors that stand reach new pages by showToNewPages).
     * @param {OverlayError} err
     */
    overlay(err) {
      if (pages && pages.clients.size > 0) pages.send(errorPayload(err))
    },
    /**
     * Removes the overlay showing `file`'s error (see OVERLAY_CLIENT).
     * @param {string} file
     */
    clearOverlay(file) {
      pages?.send(CLEAR_EVENT, { file })
    },
    /**
     * Shows `errors()` to each page that connects from now on, after Vite's greeting.
     * @param {() => OverlayError[]} errors
     */
    showToNewPages(errors) {
      pages?.on('connection', (socket) => {
        for (const err of errors()) socket.send(JSON.stringify(errorPayload(err)))
      })
    },
    /**
     * One line per endpoint, with the URL a browser would use.
     * @param {HandlerInfo[]} handlers
     * @param {string[]} [unloaded] handler files that failed to load and never served
     */
    handlerLines(handlers, unloaded = []) {
      const base = wsBase() ?? ''
      if (handlers.length === 0 && unloaded.length > 0) {
        const files = unloaded.map((file) => rel(file)).join(', ')
        return [`no handlers loaded: ${files} did not load (${unloaded.length === 1 ? 'its error is' : 'their errors are'} above)`]
      }
      if (handlers.length === 0) return [`no handlers yet: add a .py file declaring a Handler`]
      return handlers.map((h) => {
        // An endpoint a proxy rule forwards elsewhere is listed, not served: said at start.
        const rule = proxied(h.path.split('{')[0])
        const taken = rule === null ? '' : `  [server.proxy['${rule}'] (ws: true) forwards it elsewhere]`
        return `${base}${h.path}  (${rel(h.file)}:${h.line})${h.disabled ? '  [disabled]' : ''}${taken}`
      })
    },
  }
}

// The paths a count of refusals names, at most: the rest are only said to be there.
const NAMED_PATHS = 3

/**
 * `paths` as a count of refusals names them: `on /api/chat, /api/echo and /api/game`, or
 * `on /api/chat, /api/echo, /api/game and other paths` (`more`).
 * @param {string[]} paths
 * @param {boolean} more
 */
function listed(paths, more) {
  if (more) return `on ${paths.join(', ')} and other paths`
  return `on ${paths.length === 1 ? paths[0] : `${paths.slice(0, -1).join(', ')} and ${paths.at(-1)}`}`
}

/**
 * What the refusals for `reason` on any path have in common, as the end of the line that
 * counts them: the client chooses the path, its Origin and its Host (a page can open frames
 * from any number of subdomains), so these are not in it (security.js words the reasons).
 * @param {string} reason
 */
function refusalKind(reason) {
  const named = `(the first ${NAMED_PER_KIND} are named above)`
  // The server's name and the setting are read back from the reason: the client's own words
  // in it (Origin, Host) are JSON strings, so a quote in them does not end them.
  const origin = /^Origin "(?:[^"\\]|\\.)*" is not this (.+?) \(/.exec(reason)
  if (origin) return `from other Origins that are not this ${origin[1]} nor in allowedOrigins ${named}`
  const host = /^Host "(?:[^"\\]|\\.)*" is not allowed; add it to (.+?)(?: in vite\.config)?$/.exec(reason)
  if (host) return `with other Hosts that are not in ${host[1]} ${named}`
  return `on other paths: ${reason}`
}

/**
 * The endpoints to list at a `ready`: one line each (as `reporter.handlerLines`), unless
 * `before` (the table served until this start; null at the first) had the same lines: a
 * restart (a config change, a crash) then says so in one line instead of listing them again.
 * @param {Reporter} reporter
 * @param {HandlerInfo[]} handlers
 * @param {HandlerInfo[] | null} before
 * @param {string[]} [unloaded] handler files that failed to load and never served
 */
export function readyLines(reporter, handlers, before, unloaded = []) {
  const lines = reporter.handlerLines(handlers, unloaded)
  const same = before !== null && handlers.length > 0 && reporter.handlerLines(before).join('\n') === lines.join('\n')
  return same ? [`serving the same ${handlers.length} endpoint${handlers.length === 1 ? '' : 's'}`] : lines
}

/**
 * Logs a load_error, config_error or runtime_error event; returns what the overlay shows.
 * @param {Reporter} reporter
 * @param {ErrorEvent} event
 * @returns {OverlayError}
 */
export function reportError(reporter, event) {
  const { text, overlay } = describeError(reporter, event)
  reporter.error(text)
  return overlay
}

/**
 * Logs a runtime_error event unless the same error (callback, file, line and exception
 * class) came within the window: a callback that fails on each message of a page sending at
 * mousemove rate would print hundreds of tracebacks and put the overlay back each time.
 * Returns what the overlay shows, or null for an error counted.
 * @param {Reporter} reporter
 * @param {ErrorEvent} event
 * @returns {OverlayError | null}
 */
export function reportCallbackError(reporter, event) {
  const { what, where, text, overlay } = describeError(reporter, event)
  const kind = /^[\w.]+/.exec(event.message)?.[0] ?? event.message
  return reporter.failed(`${what} ${where}: ${kind}`, text) ? overlay : null
}

/**
 * The terminal's text of an error event, its first words, and what the overlay shows.
 * @param {Reporter} reporter
 * @param {ErrorEvent} event
 */
function describeError(reporter, event) {
  const where = (event.file ? `${reporter.rel(event.file)}${event.line ? `:${event.line}` : ''}` : 'unknown location') +
    keptFromLoading(reporter, event)
  const what = { load_error: 'cannot load', config_error: 'invalid config in',
    runtime_error: `error in ${event.callback ?? 'a handler'} of` }[event.type]
  const title = { load_error: 'Load error', config_error: 'Config error', runtime_error: 'Runtime error' }[event.type]
  // A message's own lines are indented: none of them reads as a line of the terminal's own
  // (the sidecar has already written out its control characters: events.py `printable`).
  const message = event.message.replaceAll('\n', '\n  ')
  const text = `${what} ${where}: ${message}\n${event.traceback ?? ''}`.trimEnd()
  /** @type {OverlayError} */
  const overlay = {
    // A callback's error says whose it is, as the terminal's line does (`Runtime error in
    // on_message of ws/x.py:7`, `in a Response of ...`).
    message: `${title} in ${event.callback ? `${event.callback} of ` : ''}${where}: ${event.message}`,
    stack: event.type === 'runtime_error' ? `${(event.traceback ?? '').trim()}\n\n${OVERLAY_OFF_HINT}`.trimStart()
      : event.traceback ?? '',
    id: event.file ?? undefined,
    loc: event.file ? { file: event.file, line: event.line ?? 1, column: event.column ?? 1 } : undefined,
  }
  return { what, where, text, overlay }
}

// The handler files a helper's error names, at most: the rest are counted.
const NAMED_IMPORTERS = 4

/**
 * A helper's load error names the handler files it kept from loading (`sources`), in its one
 * line: ` (so ws/chat.py and ws/game.py did not load)`; '' for any other error.
 * @param {Reporter} reporter
 * @param {ErrorEvent} event
 */
function keptFromLoading(reporter, event) {
  const files = (event.sources ?? []).filter((file) => file !== event.file).map(reporter.rel)
  if (files.length === 0) return ''
  const named = files.length <= NAMED_IMPORTERS ? files
    : [...files.slice(0, NAMED_IMPORTERS - 1), `${files.length - NAMED_IMPORTERS + 1} more`]
  const list = named.length === 1 ? named[0] : `${named.slice(0, -1).join(', ')} and ${named.at(-1)}`
  return ` (so ${list} did not load)`
}
