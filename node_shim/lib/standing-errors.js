// @ts-check
// Errors that stand on every page until their file is fixed (StandingErrors): a load error, a
// config error, the sidecar's own failure; and a callback's error on the pages open then.

/** @import { OverlayError, Reporter } from './report.js' */

/** @typedef {'load' | 'config' | 'sidecar'} StandingKind what an error that stands came from */

// The other errors that stand an overlay names, at most: the rest are counted.
const NAMED_OTHERS = 4

/**
 * Errors that stand until fixed, by file ('' for the sidecar's own failure): every page shows
 * them, also one opened later. One set per sidecar, shared by the Vite servers holding it.
 * A callback's error is an event instead (`passing`): only the pages open then show it, until
 * its handler file is saved.
 */
export class StandingErrors {
  /** @param {() => Reporter} reporter the reporter to use now (the newest server's) */
  constructor(reporter) {
    this._reporter = reporter
    /** @type {Map<string, { kind: StandingKind, error: OverlayError }>} */
    this._errors = new Map()
    /** @type {Map<string, string>} handler file -> the file its runtime error's overlay names */
    this._passing = new Map()
  }

  /**
   * Shows the errors that stand to each page that connects to `reporter`'s server.
   * @param {Reporter} reporter
   */
  showToNewPages(reporter) {
    // A helper's error stands for each file it failed, and is shown once. The page shows the
    // last one sent, which names the others.
    reporter.showToNewPages(() => [...new Set([...this._errors.values()].map((s) => s.error))].map((e) => this._shown(e)))
  }

  /**
   * Shows `error` for `files` on the pages open now (once), and on every page opened until
   * each of them is fixed.
   * @param {StandingKind} kind
   * @param {string | string[]} files the file whose load or removal fixes it (a helper's
   *   error stands for each handler file it failed)
   * @param {OverlayError} error
   */
  stand(kind, files, error) {
    for (const file of [files].flat()) {
      this._errors.delete(file) // set again last: the newest error is the one shown
      this._errors.set(file, { kind, error })
    }
    this._reporter().overlay(this._shown(error))
  }

  /**
   * `error` as the overlay shows it: the overlay shows one error at a time, so its message
   * ends with how many other errors stand, and where (`… (and 2 more load errors: ws/echo.py,
   * ws/feed.py)`); the terminal has had each in full.
   * @param {OverlayError} error
   * @returns {OverlayError}
   */
  _shown(error) {
    /** @type {Map<OverlayError, { kind: StandingKind, where: string }>} */
    const others = new Map()
    for (const [file, s] of this._errors) {
      if (s.error === error || others.has(s.error)) continue
      const at = s.error.loc?.file ?? file
      others.set(s.error, { kind: s.kind, where: at ? this._reporter().rel(at) : 'the sidecar' })
    }
    if (others.size === 0) return error
    const kinds = new Set([...others.values()].map((o) => o.kind))
    const kind = kinds.size === 1 && !kinds.has('sidecar') ? `${[...kinds][0]} error` : 'error'
    const where = [...others.values()].map((o) => o.where)
    const listed = where.length <= NAMED_OTHERS ? where.join(', ') : `${where.slice(0, NAMED_OTHERS).join(', ')}, …`
    const more = `and ${others.size} more ${kind}${others.size === 1 ? '' : 's'}: ${listed}`
    return { ...error, message: `${error.message} (${more})` }
  }

  /**
   * Shows `error`, raised by a callback of handler file `file`, on the pages open now (pages
   * opened later do not get it); the next load or removal of `file` takes it off them, as it
   * does an error that stands: the overlay covers the page, and a saved fix should not leave it
   * to be closed by hand.
   * @param {string} file
   * @param {OverlayError} error
   */
  passing(file, error) {
    this._passing.set(file, error.loc?.file ?? file)
    this._reporter().overlay(error)
  }

  /**
   * A file whose error stands, or whose callback raised, loads now (or is gone): take its
   * error off the overlay (which names the file where the error was, maybe another one). The
   * overlay shows one error at a time: when another still stands, the open pages get it back
   * (the newest), as a page opened now would. A helper's error that still stands for another
   * of its importers stays shown: the first importers of a fixed helper to load would
   * otherwise take it off and put it back, once each, until the last one.
   * @param {string} file
   */
  fixed(file) {
    const shown = new Set()
    const passing = this._passing.get(file)
    if (passing !== undefined) shown.add(passing)
    this._passing.delete(file)
    const standing = this._errors.get(file)
    this._errors.delete(file)
    const stillStands = standing && [...this._errors.values()].some((s) => s.error === standing.error)
    if (standing && !stillStands) shown.add(standing.error.loc?.file ?? file)
    if (shown.size === 0) return
    for (const named of shown) this._reporter().clearOverlay(named)
    const still = [...this._errors.values()].at(-1)
    if (still) this._reporter().overlay(this._shown(still.error))
  }

  /**
   * Every error of `kind` is fixed.
   * @param {StandingKind} kind
   */
  fixedAll(kind) {
    for (const [file, error] of this._errors) if (error.kind === kind) this.fixed(file)
  }
}
