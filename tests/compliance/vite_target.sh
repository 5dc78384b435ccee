#!/usr/bin/env bash
# Prepare WORK/vite-app: a minimal Vite project whose only plugin is the shim (node_shim/),
# serving the handler folder given, with the given Python interpreter. Idempotent: npm runs
# again only when the shim's package.json or this app's package.json changes.
#   vite_target.sh WORK HANDLERS_DIR PYTHON
set -euo pipefail
WORK="$1"; HANDLERS="$2"; PY="$3"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
APP="$WORK/vite-app"
mkdir -p "$APP"
[[ -f "$ROOT/node_shim/index.js" ]] || { echo "node_shim/index.js missing: the shim is not built yet"; exit 1; }
cat >"$APP/package.json.new" <<JSON
{
  "name": "wsside-conformance",
  "private": true,
  "type": "module",
  "devDependencies": {
    "vite": "^7.3.0",
    "vite-plugin-wsside": "file:$ROOT/node_shim"
  }
}
JSON
cat >"$APP/vite.config.js" <<JS
import { defineConfig } from 'vite'
import wsside from 'vite-plugin-wsside'

// Autobahn's wstest sends no Origin header: accepted while Vite listens on loopback only.
export default defineConfig({
  plugins: [wsside({ handlers: ${HANDLERS@Q}, python: ${PY@Q} })],
  server: { host: '127.0.0.1', hmr: false },
  logLevel: 'warn',
})
JS
sed -i "s/'/\"/g" "$APP/vite.config.js"
echo '<!doctype html><title>conformance</title>' >"$APP/index.html"
STAMP="$(cat "$APP/package.json.new" "$ROOT/node_shim/package.json" | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$APP/node_modules/.bin/vite" || "$(cat "$APP/.npm-stamp" 2>/dev/null)" != "$STAMP" ]]; then
  mv "$APP/package.json.new" "$APP/package.json"
  (cd "$APP" && npm install --no-audit --no-fund --loglevel=error)
  echo "$STAMP" >"$APP/.npm-stamp"
else
  rm -f "$APP/package.json.new"
fi
