// The pure-Node reference: the architecture of the original JavaScript plugin
// (@ndriadev/vite-plugin-universal-api), where the `ws` library serves the endpoints inside
// Vite's own process. Same endpoints and behaviour as ../handlers/*.py.
//
// /api/ws/echo and /api/ws/bcast pass the bytes through untouched. /api/ws/user-echo is the
// echo a user writes with the original plugin, whose handlers get and send values rather than
// frames: a text frame is delivered as JSON.parse(text) (the raw string when that fails), a
// binary frame as a Buffer; a string is sent as a text frame, a Buffer as a binary one,
// anything else as JSON.stringify(value).
//
// `WebSocketServer` is passed in by vite.config.js, so that `ws` resolves from the bench
// app's node_modules rather than from this folder.

const PREFIX = '/api'

/** What a handler of the original plugin receives for one message. */
function decode(data, isBinary) {
  if (isBinary) return data
  const text = data.toString()
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** What the original plugin's `send(value)` puts on the wire. */
function send(ws, value) {
  if (typeof value === 'string') ws.send(value)
  else if (Buffer.isBuffer(value)) ws.send(value, { binary: true })
  else ws.send(JSON.stringify(value))
}

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
        [`${PREFIX}/ws/user-echo`]: (ws) => {
          ws.on('message', (data, isBinary) => send(ws, decode(data, isBinary)))
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
