// Where the sidecar's status goes: Vite's logger, and for errors also the browser overlay.

import path from 'node:path'

const TAG = '[wsside]'
const CLEAR_EVENT = 'wsside:clear-error'

/**
 * Injected into served HTML: Vite only clears its error overlay on the next HMR update, and a
 * fixed Python file is no module update, so the page removes the overlay naming that file.
 */
export const OVERLAY_CLIENT = `if (import.meta.hot) {
  import.meta.hot.on('${CLEAR_EVENT}', ({ file }) => {
    for (const overlay of document.querySelectorAll('vite-error-overlay')) {
      if (overlay.shadowRoot?.textContent?.includes(file)) overlay.remove()
    }
  })
}`

export function debugEnabled() {
  return /(^|[\s,])(wsside|\*)([\s,]|$)/.test(process.env.DEBUG ?? '')
}

/**
 * A reporter for one Vite server: `logger` is Vite's logger, `hot` its HMR channel (absent
 * for `vite preview` and attachWsside), `root` shortens file names, `wsBase()` is the
 * browser-facing ws:// origin or null before the server listens.
 */
export function createReporter({ logger, hot = null, root = process.cwd(), wsBase = () => null }) {
  const opts = { timestamp: true }
  // Read once: DEBUG is set when Vite starts, and upgrades should not pay for the lookup.
  const debugging = debugEnabled()
  const rel = (file) => (file && path.isAbsolute(file) ? path.relative(root, file) || file : file)
  return {
    rel,
    info: (text) => logger.info(`${TAG} ${text}`, opts),
    warn: (text) => logger.warn(`${TAG} ${text}`, opts),
    error: (text) => logger.error(`${TAG} ${text}`, opts),
    debugging,
    debug: (text) => debugging && logger.info(`${TAG} ${text}`, opts),
    overlay(err) {
      if (hot) hot.send({ type: 'error', err: { plugin: 'wsside', stack: '', ...err } })
    },
    /** Removes the overlay showing `file`'s error (see OVERLAY_CLIENT). */
    clearOverlay(file) {
      if (hot) hot.send(CLEAR_EVENT, { file })
    },
    /** One line per endpoint, with the URL a browser would use. */
    handlerLines(handlers) {
      const base = wsBase() ?? ''
      if (handlers.length === 0) return [`no handlers yet: add a .py file declaring a Handler`]
      return handlers.map((h) => `${base}${h.path}  (${rel(h.file)}:${h.line})${h.disabled ? '  [disabled]' : ''}`)
    },
  }
}

/** Log line and overlay payload of a load_error, config_error or runtime_error event. */
export function reportError(reporter, event) {
  const where = event.file ? `${reporter.rel(event.file)}${event.line ? `:${event.line}` : ''}` : 'unknown location'
  const what = { load_error: 'cannot load', config_error: 'invalid config in' }[event.type] ??
    `error in ${event.callback ?? 'a handler'} of`
  const title = { load_error: 'Load error', config_error: 'Config error' }[event.type] ?? 'Runtime error'
  reporter.error(`${what} ${where}: ${event.message}\n${event.traceback ?? ''}`.trimEnd())
  reporter.overlay({
    message: `${title} in ${where}: ${event.message}`,
    stack: event.traceback ?? '',
    id: event.file ?? undefined,
    loc: event.file ? { file: event.file, line: event.line ?? 1, column: event.column ?? 1 } : undefined,
  })
}
