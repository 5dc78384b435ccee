import type { Server as HttpServer } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { Plugin } from 'vite'

export interface WssideOptions {
  /**
   * URL prefix(es) whose WebSocket upgrades go to Python. Default: from wsside.toml, else
   * `/api`. The first is the one `vite-plugin-wsside/client` resolves paths under (a prefix
   * set only in wsside.toml is not known to it: the client assumes `/api`).
   */
  prefix?: string | string[]
  /** Folder of handler files, relative to vite.config. Default `ws`. */
  handlers?: string
  /** Path to wsside.toml (or a pyproject.toml with [tool.wsside]). */
  config?: string
  /**
   * Python interpreter. Default: WSSIDE_PYTHON, else .venv/bin/python or venv/bin/python
   * beside vite.config, else $VIRTUAL_ENV/bin/python, else python3 (interpreter-rules.json).
   * A path (relative to vite.config) or a command on PATH; not empty.
   */
  python?: string
  /** Extra environment variables for the sidecar. */
  env?: Record<string, string>
  /** Also serve WebSockets under `vite preview`. Default true. */
  preview?: boolean
  /**
   * Show Python load and runtime errors in the browser's error overlay (they are always in
   * Vite's terminal). Default true.
   */
  overlay?: boolean
  /**
   * Browser origins allowed besides the dev server's own (exact strings such as
   * `https://app.example`, or RegExps). `'null'` admits the opaque origin `Origin: null`;
   * `null` admits clients that send no Origin even when the dev server listens beyond
   * loopback (on loopback they are always admitted).
   */
  allowedOrigins?: Array<string | RegExp | null>
}

export interface AttachOptions extends WssideOptions {
  /** Folder holding ws/, wsside.toml and .venv; it must exist. Default: the current directory. */
  root?: string
  /** Where to report: an object with info, warn and error methods. Default: console. */
  logger?: { info(msg: string): void; warn(msg: string): void; error(msg: string): void }
  /**
   * Host names accepted besides localhost, *.localhost and IPs, as Vite's `server.allowedHosts`
   * takes them: a list (`'.example.test'` for it and its subdomains), or `true` for any.
   */
  allowedHosts?: string[] | true
}

/** The Vite plugin: WebSocket upgrades under the prefix are served by Python handlers. */
export function wsside(options?: WssideOptions): Plugin

/**
 * Routes WebSocket upgrades of your own server (e.g. Vite in middleware mode) to the
 * sidecar, which starts once `server` listens (at once if it already does). `close()`
 * detaches; the last attachment stops the sidecar (clients get 1001).
 */
export function attachWsside(
  server: HttpServer | HttpsServer,
  options?: AttachOptions,
): { close(): Promise<void> }

export default wsside
