// The whole client: one WebSocket to /api/ws/chat, served by ws/chat.py.
const $ = (id) => document.getElementById(id)
const username = new URLSearchParams(location.search).get('username')

if (!username) {
  $('login').hidden = false
  $('login').addEventListener('submit', (event) => {
    event.preventDefault()
    location.search = new URLSearchParams({ username: $('username').value })
  })
} else {
  connect(username)
}

function connect(name) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  const ws = new WebSocket(`${scheme}://${location.host}/api/ws/chat?username=${encodeURIComponent(name)}`)
  const send = (message) => ws.send(JSON.stringify(message))
  const rooms = new Set()
  const typists = new Map() // "name (#room)" -> the timer that forgets them
  let current = 'general'
  let lastTyping = 0

  $('chat').hidden = false
  $('status').textContent = 'connecting…'

  ws.onopen = () => {
    $('status').textContent = `connected as ${name}`
    $('live').disabled = false
  }
  ws.onclose = (event) => {
    $('status').textContent = `disconnected (${event.code})`
    $('live').disabled = true
  }
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data)
    switch (msg.type) {
      case 'connected':
      case 'room-joined':
        rooms.add(msg.room)
        current = msg.room
        showRooms()
        break
      case 'room-left':
        rooms.delete(msg.room)
        current = 'general'
        showRooms()
        break
      case 'chat-message':
        stopTyping(`${msg.from} (#${msg.room})`)
        log(msg.room, `${msg.from}: ${msg.text}`, 'message')
        break
      case 'user-joined':
        log(msg.room, `${msg.username} joined`, 'notice')
        break
      case 'user-left':
        log(msg.room, `${msg.username} left`, 'notice')
        break
      case 'typing':
        startTyping(`${msg.username} (#${msg.room})`)
        break
      case 'error':
        log(current, msg.message, 'error')
        break
    }
  }

  $('composer').addEventListener('submit', (event) => {
    event.preventDefault()
    send({ type: 'chat', room: current, text: $('text').value })
    $('text').value = ''
    lastTyping = 0
  })
  $('text').addEventListener('input', () => {
    if (Date.now() - lastTyping > 1000) {
      lastTyping = Date.now()
      send({ type: 'typing', room: current })
    }
  })
  $('join-form').addEventListener('submit', (event) => {
    event.preventDefault()
    send({ type: 'join-room', room: $('room-name').value })
    $('room-name').value = ''
  })
  $('leave').addEventListener('click', () => {
    if (current !== 'general') send({ type: 'leave-room', room: current })
  })

  function showRooms() {
    $('rooms').replaceChildren(
      ...[...rooms].map((room) => {
        const button = document.createElement('button')
        button.type = 'button'
        button.textContent = `#${room}`
        button.className = room === current ? 'room current' : 'room'
        button.onclick = () => {
          current = room
          showRooms()
        }
        return button
      }),
    )
  }

  function startTyping(key) {
    clearTimeout(typists.get(key))
    typists.set(key, setTimeout(() => stopTyping(key), 4000))
    showTyping()
  }

  function stopTyping(key) {
    clearTimeout(typists.get(key))
    typists.delete(key)
    showTyping()
  }

  function showTyping() {
    const who = [...typists.keys()]
    $('typing').textContent = who.length ? `${who.join(', ')} ${who.length > 1 ? 'are' : 'is'} typing…` : ''
  }
}

function log(room, text, kind) {
  const item = document.createElement('li')
  item.className = kind
  item.textContent = `#${room} ${text}`
  $('log').append(item)
  item.scrollIntoView({ block: 'nearest' })
}
