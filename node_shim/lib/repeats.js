// @ts-check
// The same line in a burst, written once: a stalled sidecar (a blocked event loop, SIGSTOP)
// makes the shim refuse every upgrade for the same reason, one line each, and a page that
// reconnects in a loop makes hundreds. The first is written at once; the repeats within
// REPEAT_WINDOW_MS are counted and written as one line when the window ends, and counting
// goes on window after window while the burst lasts. A window with no repeat closes the
// group: the next one is written at once again.

export const REPEAT_WINDOW_MS = 5_000

/**
 * The line that stands for `repeats` more of `line` within the window.
 * @param {string} line
 * @param {number} repeats
 */
function repeatedLine(line, repeats) {
  return `${line} (and ${repeats} more ${repeats === 1 ? 'time' : 'times'} in the last ${REPEAT_WINDOW_MS / 1000} s)`
}

export class RepeatedLines {
  /** @param {(line: string) => void} write */
  constructor(write) {
    this._write = write
    /** @type {Map<string, { repeats: number, timer: NodeJS.Timeout }>} each line written
     * within its window, and how many times it came again since */
    this._open = new Map()
  }

  /**
   * Writes `line` now, or counts it when it was written within the window.
   * @param {string} line
   */
  write(line) {
    const group = this._open.get(line)
    if (group) {
      group.repeats++
      return
    }
    this._write(line)
    this._open.set(line, { repeats: 0, timer: this._windowFor(line) })
  }

  /** Writes the repeats counted in the windows still open, and closes them (at shutdown). */
  flush() {
    for (const [line, group] of this._open) {
      clearTimeout(group.timer)
      if (group.repeats > 0) this._write(repeatedLine(line, group.repeats))
    }
    this._open.clear()
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
}
