// Interpreter choice: the rules are data (interpreter-rules.json), shared with the Python
// side (`wsside.interpreter`, used by `wsside doctor`), so both always agree.

import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'

const RULES = JSON.parse(readFileSync(new URL('../interpreter-rules.json', import.meta.url), 'utf8')).rules

function isFile(p) {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

// A bare command name ("python3.12") stays a command; anything with a slash is a path.
function absolute(root, value) {
  return /[\\/]/.test(value) ? path.resolve(root, value) : value
}

function apply(rule, root, option, env, windows) {
  const rel = windows ? (rule.windows ?? rule.path) : rule.path
  switch (rule.kind) {
    case 'option':
      return option ? absolute(root, option) : null
    case 'env':
      return env[rule.var] ? absolute(root, env[rule.var]) : null
    case 'project_file': {
      const candidate = path.join(root, rel)
      return isFile(candidate) ? candidate : null
    }
    case 'env_dir_file': {
      const candidate = env[rule.var] ? path.join(env[rule.var], rel) : null
      return candidate && isFile(candidate) ? candidate : null
    }
    case 'command':
      // Resolved on PATH by spawn itself.
      return windows ? (rule.windows ?? rule.command) : rule.command
    default:
      throw new Error(`interpreter-rules.json: unknown rule kind ${JSON.stringify(rule.kind)} in ${rule.name}`)
  }
}

/**
 * `{ python, rule }`: the interpreter for a project whose vite.config lives in `root`.
 */
export function resolveInterpreter(root, option, env = process.env, windows = process.platform === 'win32') {
  for (const rule of RULES) {
    const found = apply(rule, root, option, env, windows)
    if (found) return { python: found, rule: rule.name }
  }
  throw new Error('interpreter-rules.json has no rule that always applies')
}
