// A crash loop's report quotes the error that ended the process: the last lines it wrote to
// stderr (a Python traceback: its exception, at its innermost frame), in the terminal's line
// and on the overlay, which shows no terminal to look "above" in. Real Vite, real sidecar.

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'
import { openPage, received } from './helpers/page.js'
import { ECHO, makeProject, startViteFor } from './helpers/project.js'
import { connectWs } from './helpers/ws-client.js'

const LOOP = /the sidecar \(pid \d+\) [^\n]*: 5 crashes within 30 s, so it is not restarted[\s\S]*/

// Each message ends the process, after writing the traceback of an error it caught, as a
// library that logs an error and then hard-exits does.
const EXITS_ON_MESSAGE = `import os
import traceback

from wsside import Handler

boom = Handler("/boom")


def divide(n):
    return n / 0


@boom.on_message
async def message(conn, data):
    try:
        divide(1)
    except ZeroDivisionError:
        traceback.print_exc()
    os._exit(3)
`

// Exits at import, with a traceback, once the project holds a file named "crash".
const EXITS_AT_IMPORT = `import os
import pathlib
import sys
import traceback

if (pathlib.Path(__file__).resolve().parent.parent / "crash").exists():
    try:
        {}["missing key"]
    except KeyError:
        traceback.print_exc()
    print("more on stderr, after the traceback", file=sys.stderr)
    os._exit(3)
`

/** The 1-based line of `code` that holds `text`. */
const lineOf = (code, text) => code.split('\n').findIndex((line) => line.includes(text)) + 1

/** The overlay's error that a page opened now gets first, as Vite's client shows it. */
async function shownToNewPage(port) {
  const page = await openPage(port)
  const msg = await page.next({ json: true })
  page.close()
  assert.equal(msg.type, 'error', JSON.stringify(msg))
  return msg.err.message
}

it('a crash loop of a handler that exits: the terminal line and the overlay name the error it wrote', async (t) => {
  const root = makeProject(t, { 'echo.py': ECHO, 'boom.py': EXITS_ON_MESSAGE })
  const { vite, port, logs } = await startViteFor(t, root)
  const page = await openPage(port)
  // Five messages, each to a new process (the connection waits for it to be ready): five
  // crashes. The next connection once the shim has seen the exit, not just the socket's end.
  for (let i = 0; i < 5; i++) {
    const from = logs.lines.length
    const ws = await connectWs({ port, path: '/api/boom' })
    ws.send('go')
    await ws.closed
    await logs.waitFor(/the sidecar \(pid \d+\) exited with code 3/, { from })
  }
  const [report] = await logs.waitFor(LOOP)
  const cause = `ws/boom.py:${lineOf(EXITS_ON_MESSAGE, 'return n / 0')}: ZeroDivisionError: division by zero`
  assert.ok(report.includes(`so it is not restarted.\n  The last error it wrote to stderr: ${cause}\n  Fix that error: ` +
    'the next save of a .py file'), report)
  // The terminal's other lines are as they were: the traceback once, as the process wrote it.
  assert.equal(logs.lines.filter((line) => line.endsWith('py: ZeroDivisionError: division by zero')).length, 5)
  // The open page, and a page opened later, see the traceback and the report.
  const errors = (await received(vite, page)).filter((msg) => msg.type === 'error')
  page.close()
  const shown = errors.at(-1)?.err.message ?? ''
  assert.ok(shown.includes(`in divide\n    return n / 0`), shown)
  assert.ok(shown.includes(`ZeroDivisionError: division by zero\n\n${report}`), shown)
  assert.ok(shown.startsWith('Traceback (most recent call last):\n'), shown)
  assert.equal(await shownToNewPage(port), shown)
})

it('a crash loop in a handler file\'s import: names that file and the error it wrote, with the lines after it', async (t) => {
  const root = makeProject(t, { 'echo.py': ECHO, 'crasher.py': EXITS_AT_IMPORT })
  const { port, logs, pid } = await startViteFor(t, root)
  writeFileSync(path.join(root, 'crash'), '')
  // The first crash (a kill) wrote nothing; the four starts after it exit at import.
  process.kill(pid, 'SIGKILL')
  const [report] = await logs.waitFor(LOOP, { ms: 20_000 })
  const cause = `ws/crasher.py:${lineOf(EXITS_AT_IMPORT, '{}["missing key"]')}: KeyError: 'missing key'`
  assert.ok(report.includes('exited with code 3 while importing ws/crasher.py: 5 crashes within 30 s, so it is not ' +
    `restarted.\n  The last error it wrote to stderr: ${cause}\n  Fix that file: the next save of a .py file`), report)
  const shown = await shownToNewPage(port)
  assert.ok(shown.includes(`KeyError: 'missing key'\nmore on stderr, after the traceback\n\n${report}`), shown)
})

it('a crash loop of kills from outside (SIGKILL, as the out-of-memory killer sends): the report says so, not "the error above"', async (t) => {
  const root = makeProject(t)
  let { port, logs, pid } = await startViteFor(t, root)
  for (let i = 0; i < 4; i++) {
    const from = logs.lines.length
    process.kill(pid, 'SIGKILL')
    pid = Number((await logs.waitFor(/sidecar ready: pid (\d+)/, { from, ms: 20_000 }))[1])
  }
  process.kill(pid, 'SIGKILL')
  const [report] = await logs.waitFor(/the sidecar \(pid \d+\) was killed by SIGKILL 5 times within 30 s[\s\S]*/)
  assert.ok(report.endsWith(', from outside the process (kill -9, or the system\'s out-of-memory killer: `dmesg` or ' +
    '`journalctl -k` says which), so it is not restarted.\n  Once nothing kills it, the next save of a .py file of the ' +
    'project (or of wsside.toml, pyproject.toml or vite.config) starts the sidecar again.'), report)
  assert.equal(await shownToNewPage(port), report)
})
