// What a test makes or starts is undone when the test ends, however it ends: passed, failed
// an assertion, timed out, or threw while starting. Each helper that makes something (a
// project folder, a Vite server, a sidecar) registers its undoing here as soon as it exists,
// so no test needs a try/finally of its own and none can forget one.

import { after } from 'node:test'

/** Steps run last-in first-out (a server closes before its folder goes); each runs even if one fails. */
export class Cleanup {
  /** @type {(() => unknown)[]} */
  #steps = []

  /** Registers `step` (sync or async) to run when the owner ends. */
  add(step) {
    this.#steps.push(step)
  }

  async run() {
    const errors = []
    for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
      try {
        await step()
      } catch (error) {
        errors.push(error)
      }
    }
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanup steps failed`)
  }
}

const ofTest = new WeakMap()

/**
 * The Cleanup of `owner`: a test's context `t` (run by `t.after`, which node:test calls on
 * every outcome, a timeout included), or a Cleanup itself (from `suiteCleanup()`).
 * @param {import('node:test').TestContext | Cleanup} owner
 * @returns {Cleanup}
 */
export function cleanupOf(owner) {
  if (owner instanceof Cleanup) return owner
  if (typeof owner?.after !== 'function') {
    throw new TypeError('expected the test context (`it(name, async (t) => ...)`) or a suiteCleanup()')
  }
  let cleanup = ofTest.get(owner)
  if (!cleanup) {
    cleanup = new Cleanup()
    ofTest.set(owner, cleanup)
    const registered = cleanup
    owner.after(() => registered.run())
  }
  return cleanup
}

/**
 * A Cleanup for what a describe block's `before` makes, run by the block's `after` (which
 * node:test runs even when `before` failed). Call it in the describe body.
 */
export function suiteCleanup() {
  const cleanup = new Cleanup()
  after(() => cleanup.run())
  return cleanup
}
