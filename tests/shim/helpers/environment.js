// The process environment of a test that starts Vite in its own process: what the plugin
// reads to choose an interpreter, set for the test and restored after it.

/**
 * The environment as a terminal without an active virtualenv or WSSIDE_PYTHON has it, with
 * `changes` (undefined: taken out), restored when `t` ends.
 * @param {import('node:test').TestContext} t
 * @param {Record<string, string | undefined>} changes
 */
export function environment(t, changes = {}) {
  const all = { VIRTUAL_ENV: undefined, WSSIDE_PYTHON: undefined, DEBUG: undefined, ...changes }
  const saved = Object.fromEntries(Object.keys(all).map((name) => [name, process.env[name]]))
  t.after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  })
  for (const [name, value] of Object.entries(all)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
}
