// The token goes in the query string: browsers cannot set headers on a WebSocket.
const $ = (id) => document.getElementById(id)
let ws

$('login').addEventListener('submit', (event) => {
  event.preventDefault()
  ws?.close()
  const token = encodeURIComponent($('token').value)
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  const socket = (ws = new WebSocket(`${scheme}://${location.host}/api/ws/private?token=${token}`))
  let opened = false
  show('idle', 'connecting…')
  socket.onopen = () => (opened = true)
  socket.onmessage = (event) => {
    const msg = JSON.parse(event.data)
    if (msg.type === 'authenticated') show('ok', `Connected as ${msg.user}`)
  }
  socket.onclose = (event) => {
    if (socket !== ws) return
    // A browser never sees the HTTP status of a refused handshake, only that it failed;
    // for an unknown token authenticate() answers 401 (header_client.py prints the status).
    if (!opened) show('refused', 'Refused before opening: 401 Unauthorized (unknown token?)')
    else show('idle', `disconnected (${event.code})`)
  }
})

function show(kind, text) {
  $('status').className = kind
  $('status').textContent = text
}
