// The client offers echo.v1 first; the server's preference (echo.v2) wins.
const $ = (id) => document.getElementById(id)
const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
const ws = new WebSocket(`${scheme}://${location.host}/api/ws/echo`, ['echo.v1', 'echo.v2'])

ws.onopen = () => {
  $('protocol').textContent = ws.protocol || '(none)'
  $('extensions').textContent = ws.extensions || '(none)'
  $('live').disabled = false
}
ws.onclose = (event) => {
  log(`closed (${event.code})`, 'in')
  $('live').disabled = true
}
ws.onmessage = (event) => log(event.data, 'in')

const outgoing = {
  ping: () => ({ type: 'ping' }),
  echo: (text) => ({ type: 'echo', data: text }),
  announce: (text) => ({ type: 'announce', text }),
  shout: (text) => text,
  other: (text) => ({ type: 'other', text }),
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault()
  const message = outgoing[event.submitter.dataset.type]($('text').value)
  const frame = typeof message === 'string' ? message : JSON.stringify(message)
  ws.send(frame)
  log(frame, 'out')
})

function log(text, direction) {
  const item = document.createElement('li')
  item.className = direction
  item.textContent = `${direction === 'out' ? '→' : '←'} ${text}`
  $('log').append(item)
}
