// How the sidecar ends under Vite when handler code leaves work behind: a thread a handler file
// started (not a daemon, which Python would wait for at exit), and a background task whose
// `finally` prints after Ctrl-C, once Vite (the reader of the sidecar's output) is gone.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { it } from 'node:test'
import { cleanupOf } from './helpers/cleanup.js'
import { isAlive, makeProject, startViteFor, waitForExit } from './helpers/project.js'
import { withTimeout } from './helpers/ws-client.js'

const here = path.dirname(fileURLToPath(import.meta.url))

// A training loop started at the file's top level, as a newcomer starts one.
const TRAINER = `
import threading
import time

from wsside import Handler

train = Handler("/train")


def loop():
    while True:
        time.sleep(0.1)


threading.Thread(target=loop, name="trainer").start()
`

// Its `finally` prints (to stdout and stderr, whose reader is gone after Ctrl-C), then writes
// a file: there only if no print raised.
const LAST_WORDS = `
import asyncio
import sys
from pathlib import Path

from wsside import Handler

ticker = Handler("/ticker")
DONE = Path(__file__).resolve().parent.parent / "finally-done"


@ticker.background
async def tick(handler):
    try:
        await asyncio.Event().wait()
    finally:
        print("stopping: a last line")
        print("and one on stderr", file=sys.stderr)
        DONE.write_text("printed")
`

it('closing Vite: the sidecar exits without waiting for a thread a handler file started, and says so', async (t) => {
  const root = makeProject(t, { 'trainer.py': TRAINER })
  const { vite, logs, pid } = await startViteFor(t, root)
  const started = Date.now()
  await vite.close() // settles once the sidecar has exited (or been killed, 7 s on)
  const took = Date.now() - started
  assert.ok(!isAlive(pid))
  assert.ok(took < 5_000, `closing took ${took} ms: the shim killed the sidecar that waited for its thread`)
  const [line] = await logs.waitFor(/exiting without waiting for the thread "trainer", which handler code started.*/)
  assert.match(line, /@handler\.background task's finally/)
  assert.equal(logs.levels[logs.lines.findIndex((l) => l.includes(line))], 'warn')
})

it('Ctrl-C: a background task\'s finally prints after Vite is gone and runs to its end', async (t) => {
  const root = makeProject(t, { 'ticker.py': LAST_WORDS })
  // Its own process group, as a terminal's foreground job: Ctrl-C signals the whole group.
  const child = spawn(process.execPath, [path.join(here, 'helpers/vite-child.js'), root], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  /** @type {{ port: number, sidecarPid: number } | null} */
  let started = null
  cleanupOf(t).add(() => {
    if (started && isAlive(started.sidecarPid)) process.kill(started.sidecarPid, 'SIGKILL')
  })
  cleanupOf(t).add(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  const line = await withTimeout(new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`vite child exited early (${code})`)))
  }), 20_000, 'the Vite child to report ready')
  started = JSON.parse(String(line))
  process.kill(-child.pid, 'SIGINT') // Ctrl-C: Vite exits at once; the sidecar ignores it
  await exited
  await waitForExit(started.sidecarPid, 5_000) // it saw its channel end, and stopped
  const done = path.join(root, 'finally-done')
  assert.ok(existsSync(done), 'the finally did not run to its end (a print raised BrokenPipeError)')
  assert.equal(readFileSync(done, 'utf8'), 'printed')
})
