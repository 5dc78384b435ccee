// The pure-Node reference: the architecture of the original JavaScript plugin
// (@ndriadev/vite-plugin-universal-api), where the `ws` library serves the endpoints inside
// Vite's own process. Same endpoints and behaviour as ../handlers/*.py.
//
// `WebSocketServer` is passed in by vite.config.js, so that `ws` resolves from the bench
// app's node_modules rather than from this folder.

const PREFIX = '/api'

export default function nodeReference({ WebSocketServer }) {
  return {
    name: 'wsside-bench-node-ref',
    configureServer(server) {
      const wss = new WebSocketServer({ noServer: true })
      const receivers = new Set()
      const routes = {
        [`${PREFIX}/ws/echo`]: (ws) => {
          ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
        },
        [`${PREFIX}/ws/bcast`]: (ws, query) => {
          if (query.get('role') !== 'sender') {
            receivers.add(ws)
            ws.on('close', () => receivers.delete(ws))
          }
          ws.on('message', (data, isBinary) => {
            for (const peer of receivers) {
              if (peer !== ws && peer.readyState === peer.OPEN) peer.send(data, { binary: isBinary })
            }
          })
        },
      }
      server.httpServer.on('upgrade', (req, socket, head) => {
        const url = new URL(req.url, 'http://localhost')
        const route = routes[url.pathname]
        if (!route) return
        socket.on('error', () => {})
        wss.handleUpgrade(req, socket, head, (ws) => route(ws, url.searchParams))
      })
    },
  }
}
