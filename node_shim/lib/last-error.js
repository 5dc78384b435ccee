// The cause of a crash, out of the last lines a sidecar process wrote to its stderr
// (lib/output.js fills them, lib/sidecar.js keeps them): what the report of a crash loop
// quotes (lib/exits.js), as the terminal that showed the traceback may be long scrolled
// away, and the overlay shows none.

// A frame of a Python traceback (`  File "x.py", line 7, in f`, most recent call last), and
// of the stack faulthandler writes at a fatal error (`  File "x.py", line 7 in f`, most
// recent call first, under `Fatal Python error: Segmentation fault`).
const TRACEBACK_FRAME = /^\s+File "(.+)", line (\d+), in /
const FATAL_FRAME = /^\s+File "(.+)", line (\d+) in /
const TRACEBACK_START = /^Traceback \(most recent call last\):/
const FATAL = /^Fatal Python error: /
// The most characters of the one line quoted in the terminal.
const CAUSE_MAX = 300
// The lines the overlay shows when they hold no traceback.
const PLAIN_SHOWN = 10

/**
 * The last error in `tail` (the last lines a process wrote to stderr, lib/sidecar.js), as one
 * line that says where when it can: `ws/x.py:7: ZeroDivisionError: division by zero` from a
 * traceback (its innermost frame and the exception under it), `ws/x.py:3: Fatal Python
 * error: Segmentation fault` from faulthandler's stack, else the last line written
 * (`traceback` false). `lines`: what the overlay shows above the report (the traceback, or
 * the last lines). Null when it wrote nothing.
 * @param {string[]} tail
 * @param {(file: string) => string} rel names a file as the terminal does
 * @returns {{ cause: string, traceback: boolean, lines: string[] } | null}
 */
export function lastError(tail, rel) {
  const lines = tail.filter((line) => line.trim() !== '')
  if (lines.length === 0) return null
  const cut = (/** @type {string} */ text) => (text.length > CAUSE_MAX ? `${text.slice(0, CAUSE_MAX)}…` : text)
  const fatal = lastIndex(lines, FATAL)
  const frame = lastIndex(lines, TRACEBACK_FRAME)
  if (frame > fatal) {
    // The exception: the first line after the innermost frame that is not indented (its
    // source line and the carets under it are).
    const exception = lines.slice(frame + 1).find((line) => !/^\s/.test(line))
    if (exception !== undefined) {
      const [, file, line] = /** @type {RegExpExecArray} */ (TRACEBACK_FRAME.exec(lines[frame]))
      const start = lastIndex(lines.slice(0, frame), TRACEBACK_START)
      return { cause: cut(`${rel(file)}:${line}: ${exception.trim()}`), traceback: true, lines: lines.slice(Math.max(start, 0)) }
    }
  }
  if (fatal >= 0) {
    const at = lines.slice(fatal + 1).map((line) => FATAL_FRAME.exec(line)).find((m) => m !== null)
    return { cause: cut(`${at ? `${rel(at[1])}:${at[2]}: ` : ''}${lines[fatal].trim()}`), traceback: true,
      lines: lines.slice(fatal) }
  }
  return { cause: cut(/** @type {string} */ (lines.at(-1)).trim()), traceback: false, lines: lines.slice(-PLAIN_SHOWN) }
}

/**
 * The index of the last of `lines` that `re` matches, or -1.
 * @param {string[]} lines
 * @param {RegExp} re
 */
function lastIndex(lines, re) {
  for (let i = lines.length - 1; i >= 0; i--) if (re.test(lines[i])) return i
  return -1
}
