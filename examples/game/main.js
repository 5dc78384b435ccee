// One WebSocket to /api/ws/game, served by ws/game.py. The server pushes a "state" message
// to each game room and a "lobby" message to the lobby on every tick.
const $ = (id) => document.getElementById(id)
const name = new URLSearchParams(location.search).get('name') ?? ''
const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
const ws = new WebSocket(`${scheme}://${location.host}/api/ws/game?name=${encodeURIComponent(name)}`)
const send = (message) => ws.send(JSON.stringify(message))

ws.onopen = () => ($('create').disabled = $('roll').disabled = false)
ws.onclose = (event) => {
  $('status').textContent = `disconnected (${event.code})`
  $('create').disabled = $('roll').disabled = true
}
ws.onmessage = (event) => {
  const msg = JSON.parse(event.data)
  switch (msg.type) {
    case 'joined-lobby':
      $('status').textContent = `playing as ${msg.name}`
      showGames(msg.games)
      break
    case 'lobby':
      showGames(msg.games)
      break
    case 'game-created':
    case 'game-joined':
      $('lobby').hidden = true
      $('table').hidden = false
      $('game-id').textContent = msg.gameId
      break
    case 'player-joined':
      log(`${msg.name} joined`)
      break
    case 'player-left':
      log(`${msg.name} left`)
      break
    case 'game-update':
      log(`${msg.name} rolled ${msg.value}`)
      break
    case 'state':
      $('tick').textContent = `tick ${msg.tick}`
      $('scores').replaceChildren(...msg.players.map(({ name, score }) => row(name, score)))
      break
    case 'error':
      log(`error: ${msg.message}`)
      break
  }
}

$('create').onclick = () => send({ type: 'create-game' })
$('roll').onclick = () => send({ type: 'game-action', action: 'roll' })

function showGames(games) {
  if (!games.length) {
    $('games').innerHTML = '<li class="empty">none yet</li>'
    return
  }
  $('games').replaceChildren(
    ...games.map((gameId) => {
      const item = document.createElement('li')
      const join = document.createElement('button')
      join.textContent = `Join ${gameId}`
      join.onclick = () => send({ type: 'join-game', gameId })
      item.append(join)
      return item
    }),
  )
}

function row(...cells) {
  const tr = document.createElement('tr')
  for (const text of cells) tr.insertCell().textContent = text
  return tr
}

function log(text) {
  const item = document.createElement('li')
  item.textContent = text
  $('log').prepend(item)
}
