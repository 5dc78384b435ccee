// @ts-check
// One connection to /api/ws/game, served by ws/game.py, through vite-plugin-wsside/client.
// The server pushes a "state" message to each game room and a "lobby" message to the lobby
// on every tick. A game lives in its connection on the server: after a reconnect the player
// is back in the lobby. The messages are typed by the receives= and sends= of ws/game.py,
// which the plugin writes to wsside-env.d.ts: with jsconfig.json, a wrong `send` is an error
// in the editor.
import { connect } from 'vite-plugin-wsside/client'

/** @param {string} id an element of index.html, which has every one this script uses */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))
const create = /** @type {HTMLButtonElement} */ ($('create'))
const roll = /** @type {HTMLButtonElement} */ ($('roll'))
const name = new URLSearchParams(location.search).get('name') ?? ''
const game = connect('/ws/game', { query: { name } })

game.onStatus((status, close) => {
  // Actions only make sense on the connection that is in the game, so none are queued.
  create.disabled = roll.disabled = status !== 'open'
  if (status === 'reconnecting') $('status').textContent = 'reconnecting…'
  if (status === 'closed') $('status').textContent = `disconnected (${close?.code ?? 'closed'})`
})
game.on('joined-lobby', (msg) => {
  $('status').textContent = `playing as ${msg.name}`
  $('lobby').hidden = false
  $('table').hidden = true
  showGames(msg.games)
})
game.on('lobby', (msg) => showGames(msg.games))
for (const type of /** @type {const} */ (['game-created', 'game-joined'])) {
  game.on(type, (msg) => {
    $('lobby').hidden = true
    $('table').hidden = false
    $('game-id').textContent = msg.gameId
  })
}
game.on('player-joined', (msg) => log(`${msg.name} joined`))
game.on('player-left', (msg) => log(`${msg.name} left`))
game.on('game-update', (msg) => log(`${msg.name} rolled ${msg.value}`))
game.on('state', (msg) => {
  $('tick').textContent = `tick ${msg.tick}`
  $('scores').replaceChildren(...msg.players.map(({ name, score }) => row(name, String(score))))
})
game.on('error', (msg) => log(`error: ${msg.message}`))

create.onclick = () => game.send({ type: 'create-game' })
roll.onclick = () => game.send({ type: 'game-action', action: 'roll' })

/** @param {string[]} games the ids of the open games */
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
      join.onclick = () => game.send({ type: 'join-game', gameId })
      item.append(join)
      return item
    }),
  )
}

/** @param {...string} cells */
function row(...cells) {
  const tr = document.createElement('tr')
  for (const text of cells) tr.insertCell().textContent = text
  return tr
}

/** @param {string} text */
function log(text) {
  const item = document.createElement('li')
  item.textContent = text
  $('log').prepend(item)
}
