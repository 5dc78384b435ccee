// Waiting on a client socket's own events, never on time.

/** The next message that `socket.on(type)` delivers. */
export function nextMessage(socket, type = '*') {
  return new Promise((resolve) => {
    const off = socket.on(type, (message) => {
      off()
      resolve(message)
    })
  })
}

/** Resolves with the close info once `socket.status` is `status` (at once if it is). */
export function statusOf(socket, status) {
  if (socket.status === status) return Promise.resolve(undefined)
  return new Promise((resolve) => {
    const off = socket.onStatus((next, close) => {
      if (next !== status) return
      off()
      resolve(close)
    })
  })
}

/** Every status a socket goes through, in order. */
export function statuses(socket) {
  const seen = []
  socket.onStatus((status) => seen.push(status))
  return seen
}
