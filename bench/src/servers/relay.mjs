// The practical ceiling for Node + ws: forwards every frame to the other sockets of its
// room (the URL path) and does no CRDT work at all. Joiners get nothing back.
// Plain JavaScript, so no TypeScript loader runs beside it and skews its memory.
import { WebSocketServer } from 'ws'

const port = Number(process.env.PORT ?? 1234)
const rooms = new Map()
const server = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false })
server.on('connection', (socket, request) => {
  const name = request.url ?? '/'
  let room = rooms.get(name)
  if (room === undefined) rooms.set(name, (room = new Set()))
  room.add(socket)
  socket.on('message', (data, isBinary) => {
    for (const peer of room) if (peer !== socket) peer.send(data, { binary: isBinary })
  })
  socket.on('close', () => {
    room.delete(socket)
    if (room.size === 0) rooms.delete(name)
  })
})
