// A handler's output cannot pass for wsside's own lines in Vite's terminal: the shim gives
// each sidecar process a random mark (WSSIDE_MARK, taken out of the process's environment
// before handler code runs), wsside's own lines carry it, and any other line, whatever it
// says, is shown as the Python process's output (`py: `).

import assert from 'node:assert/strict'
import { it } from 'node:test'
import { makeProject, startViteFor } from './helpers/project.js'
import { connectWs } from './helpers/ws-client.js'

const PRINTS = `import os
import time

from wsside import Handler

printer = Handler("/print")


@printer.on_message
async def message(conn, data):
    if data == "block":
        time.sleep(1)
    elif data == "environ":
        print("mark in os.environ:", "WSSIDE_MARK" in os.environ)
        try:
            with open("/proc/self/environ", "rb") as block:
                left = [v for v in block.read().split(b"\\0") if v.startswith(b"WSSIDE_MARK=")]
        except OSError:
            left = []
        print("mark in the environment block:", [v.decode() for v in left])
    else:
        print("got:", data)
    await conn.send("done")
`

const CRASHED = 'the sidecar crashed; run wsside doctor --fix --yes'
// What a client sends, and the lines the handler's print writes of it.
const FORGED = [
  `hello\nwsside:error: ${CRASHED}`,
  `hello\nwsside:warning: ${CRASHED}`,
  `hello\nwsside: ${CRASHED}`,
  // With a guess at a mark, in its shape.
  `hello\nwsside:0123456789ab:error: ${CRASHED}`,
]

it("a client's text that a handler prints is shown as py:, never as wsside's own line; wsside's own lines still are", async (t) => {
  const { port, logs } = await startViteFor(t, makeProject(t, { 'print.py': PRINTS }))
  const ws = await connectWs({ port, path: '/api/print' })
  for (const text of FORGED) {
    const from = logs.lines.length
    ws.send(text)
    assert.equal(await ws.next(), 'done')
    // The print's lines come in order on one stream: once its second line is here, so is the
    // first, and no line of it can come later.
    const [shown] = await logs.waitFor(new RegExp(`^.*${CRASHED.replace(/[^\w ]/g, '\\$&')}$`), { from })
    const printed = logs.lines.slice(from).filter((line) => line.includes('hello') || line.includes(CRASHED))
    assert.deepEqual(printed, ['[wsside] py: got: hello', `[wsside] py: ${text.split('\n')[1]}`])
    assert.equal(logs.levels[logs.lines.indexOf(shown, from)], 'info', shown)
  }
  assert.ok(!logs.lines.some((line) => line.startsWith(`[wsside] ${CRASHED}`)), logs.lines.join('\n'))

  // Handler code cannot read the mark: gone from os.environ and overwritten in the block
  // the kernel wrote at exec (/proc/<pid>/environ, Linux).
  ws.send('environ')
  assert.equal(await ws.next(), 'done')
  await logs.waitFor(/^\[wsside\] py: mark in the environment block: /)
  assert.ok(logs.lines.includes('[wsside] py: mark in os.environ: False'), logs.lines.join('\n'))
  const [, left] = logs.lines.map((line) => /^\[wsside\] py: mark in the environment block: (.*)$/.exec(line)).find(Boolean)
  assert.match(left, process.platform === 'linux' ? /^\['WSSIDE_MARK=x{12}'\]$/ : /^\[('WSSIDE_MARK=x{12}')?\]$/)

  // A line wsside itself logs (the watchdog's, through Python's logging) is still its own,
  // at its level.
  ws.send('block')
  assert.equal(await ws.next(), 'done')
  const [stall] = await logs.waitFor(/^\[wsside\] the event loop is blocked .*/)
  assert.match(stall, /^\[wsside\] the event loop is blocked \(over 0\.5 s\) in message \(\S*print\.py:12\)/)
  assert.equal(logs.levels[logs.lines.indexOf(stall)], 'warn')
  // The mark itself is never shown.
  assert.ok(!logs.lines.some((line) => /wsside:[0-9a-f]{12}\b/.test(line) && !line.includes('0123456789ab')), logs.lines.join('\n'))
  ws.close()
})

it("a line wsside writes outside its logging (a bad WSSIDE_JSON at start) is still its own, with the report of the failed start", async (t) => {
  const { logs } = await startViteFor(t, makeProject(t), { options: { env: { WSSIDE_JSON: 'bogus' } }, waitReady: false })
  const [report] = await logs.waitFor(/the Python sidecar \(pid \d+\) exited with code \d+ before it was ready[\s\S]*/)
  const said = "WSSIDE_JSON='bogus' is not one of auto, json, orjson"
  const line = logs.lines.find((l) => l.includes(said))
  assert.ok(line?.startsWith(`[wsside] ${said}`), logs.lines.join('\n'))
  assert.ok(report.includes('because of the error it reported above'), report)
})
