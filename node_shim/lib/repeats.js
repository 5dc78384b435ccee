// @ts-check
// The same line in a burst, written once: a stalled sidecar (a blocked event loop, SIGSTOP)
// makes the shim refuse every upgrade for the same reason, one line each, and a page that
// reconnects in a loop makes hundreds. The first is written at once; the repeats within
// REPEAT_WINDOW_MS are counted and written as one line when the window ends, and counting
// goes on window after window while the burst lasts. A window with no repeat closes the
// group: the next one is written at once again.
//
// Lines that differ only by what the client chose (its Origin, its Host, the path) are of one
// kind: a page can open frames from many subdomains, each with its own Origin, and a line for
// each would flood the terminal. The first NAMED_PER_KIND distinct lines of a kind are written
// (each grouped as above); the further ones are counted, and written as one line per window
// while they come. A window in which none of that kind came closes the kind.
//
// A spell (Spell) is a cause that lasts: the sidecar is down, and every upgrade on every path
// is refused for it until it is ready again. Its line is written once, and the rest counted
// until it ends.

export const REPEAT_WINDOW_MS = 5_000
export const NAMED_PER_KIND = 5

/**
 * The line that stands for `repeats` more of `line` within the window.
 * @param {string} line
 * @param {number} repeats
 */
function repeatedLine(line, repeats) {
  return `${line} (and ${repeats} more ${repeats === 1 ? 'time' : 'times'} in the last ${REPEAT_WINDOW_MS / 1000} s)`
}

/**
 * @typedef {object} Kind the distinct lines of one kind seen while it is open
 * @property {number} named lines written
 * @property {number} counted lines not written since the last count line
 * @property {boolean} came a line of this kind (written or counted) in this window
 * @property {NodeJS.Timeout} timer
 */

export class RepeatedLines {
  /**
   * @param {(line: string) => void} write
   * @param {(kind: string, count: number, seconds: number) => string} [counted] the line
   *   that stands for `count` lines of `kind` not written in the last `seconds`
   */
  constructor(write, counted = (kind, count, seconds) => `${count} more ${kind} in the last ${seconds} s`) {
    this._write = write
    this._counted = counted
    /** @type {Map<string, { repeats: number, timer: NodeJS.Timeout }>} each line written
     * within its window, and how many times it came again since */
    this._open = new Map()
    /** @type {Map<string, Kind>} */
    this._kinds = new Map()
  }

  /**
   * Writes `line` now, or counts it when it was written within the window, or when
   * NAMED_PER_KIND other lines of its `kind` were written while the kind is open.
   * @param {string} line
   * @param {string} [kind] what the lines of one kind share (default: the line itself)
   * @param {string} [text] what is written when the line is (default: the line; a
   *   traceback, say, when the line that counts the repeats is only its first line)
   * @returns {boolean} whether it was written, not counted
   */
  write(line, kind = line, text = line) {
    const group = this._open.get(line)
    if (group) {
      group.repeats++
      return false
    }
    let ofKind = this._kinds.get(kind)
    if (!ofKind) {
      ofKind = { named: 0, counted: 0, came: false, timer: this._kindWindow(kind) }
      this._kinds.set(kind, ofKind)
    }
    ofKind.came = true
    if (ofKind.named >= NAMED_PER_KIND) {
      ofKind.counted++
      return false
    }
    ofKind.named++
    this._write(text)
    this._open.set(line, { repeats: 0, timer: this._windowFor(line) })
    return true
  }

  /**
   * Closes the windows of the lines `which` picks, writing the repeats they counted: the
   * next of those lines is written at once.
   * @param {(line: string) => boolean} which
   */
  end(which) {
    for (const [line, group] of this._open) {
      if (!which(line)) continue
      clearTimeout(group.timer)
      if (group.repeats > 0) this._write(repeatedLine(line, group.repeats))
      this._open.delete(line)
    }
  }

  /** Writes the repeats counted in the windows still open, and closes them (at shutdown). */
  flush() {
    for (const [line, group] of this._open) {
      clearTimeout(group.timer)
      if (group.repeats > 0) this._write(repeatedLine(line, group.repeats))
    }
    this._open.clear()
    for (const [kind, ofKind] of this._kinds) {
      clearTimeout(ofKind.timer)
      if (ofKind.counted > 0) this._write(this._counted(kind, ofKind.counted, REPEAT_WINDOW_MS / 1000))
    }
    this._kinds.clear()
  }

  /**
   * A window for `line`; the timer never keeps Node's process alive.
   * @param {string} line
   */
  _windowFor(line) {
    return setTimeout(() => this._windowEnds(line), REPEAT_WINDOW_MS).unref()
  }

  /** @param {string} line */
  _windowEnds(line) {
    const group = this._open.get(line)
    if (!group) return
    if (group.repeats === 0) {
      this._open.delete(line)
      return
    }
    this._write(repeatedLine(line, group.repeats))
    group.repeats = 0
    group.timer = this._windowFor(line)
  }

  /**
   * A window for the lines of `kind`, as `_windowFor`.
   * @param {string} kind
   */
  _kindWindow(kind) {
    return setTimeout(() => this._kindWindowEnds(kind), REPEAT_WINDOW_MS).unref()
  }

  /** @param {string} kind */
  _kindWindowEnds(kind) {
    const ofKind = this._kinds.get(kind)
    if (!ofKind) return
    if (!ofKind.came) {
      this._kinds.delete(kind)
      return
    }
    if (ofKind.counted > 0) this._write(this._counted(kind, ofKind.counted, REPEAT_WINDOW_MS / 1000))
    ofKind.counted = 0
    ofKind.came = false
    ofKind.timer = this._kindWindow(kind)
  }
}

/**
 * Lines of one spell (the sidecar cannot serve: every upgrade is refused for that, on every
 * path a page reconnects to): each is written when it says something new in the spell (its
 * `key`: its words without the path), the others are counted, with what they were `about`,
 * until over() writes the count. No window: the count comes before the line that ends the
 * spell (`sidecar ready`), never after it, and the line that tells how to end it stays in view.
 */
export class Spell {
  /**
   * @param {(line: string) => void} write
   * @param {(count: number, about: string[], more: boolean) => string} counted the line for
   *   `count` lines not written, given the first `kept` things the spell's lines were about,
   *   in the order they came, and whether there were others
   * @param {number} kept how many of those are kept (a long outage of pages reconnecting on
   *   per-room paths would otherwise keep every path)
   */
  constructor(write, counted, kept) {
    this._write = write
    this._counted = counted
    this._kept = kept
    /** @type {Set<string>} the keys written in this spell */
    this._said = new Set()
    this._count = 0
    /** @type {Set<string>} */
    this._about = new Set()
    this._more = false
  }

  /**
   * @param {string} key
   * @param {string} about
   * @param {string} text what is written when it is
   */
  write(key, about, text) {
    if (this._about.size < this._kept) this._about.add(about)
    else if (!this._about.has(about)) this._more = true
    if (this._said.has(key)) {
      this._count++
      return
    }
    this._said.add(key)
    this._write(text)
  }

  /** The spell ends: what was counted is written now, and the next line starts a new spell. */
  over() {
    if (this._count > 0) this._write(this._counted(this._count, [...this._about], this._more))
    this._said.clear()
    this._count = 0
    this._about.clear()
    this._more = false
  }
}
