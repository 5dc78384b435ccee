// @ts-check
// The whole client: one connection to /api/ws/chat, served by ws/chat.py, through
// vite-plugin-wsside/client, which encodes JSON, dispatches on `type`, queues what is sent
// while the socket is down and reconnects on its own (a sidecar restart, a saved handler).
// Its messages are typed by the receives= and sends= of ws/chat.py, which the plugin writes
// to wsside-env.d.ts: with jsconfig.json, a wrong `send` is an error in the editor.
import { connect } from 'vite-plugin-wsside/client'

/** @param {string} id an element of index.html, which has every one this script uses */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))
// Blank is no name (the server would call it Guest): ask for one.
const username = new URLSearchParams(location.search).get('username')?.trim()

if (!username) {
  $('login').hidden = false
  $('login').addEventListener('submit', (event) => {
    event.preventDefault()
    const field = /** @type {HTMLInputElement} */ ($('username'))
    location.search = new URLSearchParams({ username: field.value }).toString()
  })
} else {
  join(username)
}

/** @param {string} name */
function join(name) {
  const chat = connect('/ws/chat', { query: { username: name } })
  const live = /** @type {HTMLFieldSetElement} */ ($('live'))
  const textField = /** @type {HTMLInputElement} */ ($('text'))
  const roomField = /** @type {HTMLInputElement} */ ($('room-name'))
  const rooms = new Set()
  const typists = new Map() // "name (#room)" -> the timer that forgets them
  let current = 'general'
  let lastTyping = 0

  $('chat').hidden = false
  /** @type {Parameters<typeof chat.onStatus>[0]} */
  const showStatus = (status, close) => {
    /** @type {Partial<Record<typeof chat.status, string>>} */
    const text = { connecting: 'connecting…', open: `connected as ${name}`, reconnecting: 'reconnecting…' }
    $('status').textContent = text[status] ?? `disconnected (${close?.code ?? 'closed'})`
    // What is sent while reconnecting waits and goes once back; only a closed chat is dead.
    live.disabled = status === 'closed'
  }
  showStatus(chat.status)
  chat.onStatus(showStatus)

  chat.on('connected', (msg) => {
    // A new connection (the first, or after a reconnect) is in its default room only.
    rooms.clear()
    rooms.add(msg.room)
    current = msg.room
    showRooms()
  })
  chat.on('room-joined', (msg) => {
    rooms.add(msg.room)
    current = msg.room
    showRooms()
  })
  chat.on('room-left', (msg) => {
    rooms.delete(msg.room)
    current = 'general'
    showRooms()
  })
  chat.on('chat-message', (msg) => {
    stopTyping(`${msg.from} (#${msg.room})`)
    log(msg.room, `${msg.from}: ${msg.text}`, 'message')
  })
  chat.on('user-joined', (msg) => log(msg.room, `${msg.username} joined`, 'notice'))
  chat.on('user-left', (msg) => log(msg.room, `${msg.username} left`, 'notice'))
  chat.on('typing', (msg) => startTyping(`${msg.username} (#${msg.room})`))
  chat.on('error', (msg) => log(current, msg.message, 'error'))

  $('composer').addEventListener('submit', (event) => {
    event.preventDefault()
    chat.send({ type: 'chat', room: current, text: textField.value })
    textField.value = ''
    lastTyping = 0
  })
  textField.addEventListener('input', () => {
    if (Date.now() - lastTyping > 1000) {
      lastTyping = Date.now()
      chat.send({ type: 'typing', room: current })
    }
  })
  $('join-form').addEventListener('submit', (event) => {
    event.preventDefault()
    chat.send({ type: 'join-room', room: roomField.value })
    roomField.value = ''
  })
  $('leave').addEventListener('click', () => {
    if (current !== 'general') chat.send({ type: 'leave-room', room: current })
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

  /** @param {string} key who is typing where, as shown */
  function startTyping(key) {
    clearTimeout(typists.get(key))
    typists.set(key, setTimeout(() => stopTyping(key), 4000))
    showTyping()
  }

  /** @param {string} key */
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

/**
 * @param {string} room
 * @param {string} text
 * @param {'message' | 'notice' | 'error'} kind the line's class in style.css
 */
function log(room, text, kind) {
  const item = document.createElement('li')
  item.className = kind
  item.textContent = `#${room} ${text}`
  $('log').append(item)
  item.scrollIntoView({ block: 'nearest' })
}
