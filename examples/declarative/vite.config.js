import { defineConfig } from 'vite'
import wsside from 'vite-plugin-wsside'

// Handler files are read from ./ws; WebSocket upgrades under /api go to them.
export default defineConfig({ plugins: [wsside()] })
