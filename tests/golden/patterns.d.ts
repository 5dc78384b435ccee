// wsside-env.d.ts: the message types of the wsside handlers in ws/, for vite-plugin-wsside/client.
// Generated from their receives= and sends=: do not edit. The Vite plugin rewrites it
// when a handler file changes; without Vite: wsside types --out wsside-env.d.ts
// A page names its types: import type { WsChat } from './wsside-env' (the path from the page)
import type { Binary, ErrorFrame } from 'vite-plugin-wsside/client'

declare module 'vite-plugin-wsside/client' {
  interface Endpoints {
    '/ws/chat': { receives: WsChat.Receives; sends: WsChat.Sends }
    // Also admits the types of /ws/rooms/*: this key matches their paths
    [path: `/ws/rooms/${string}`]: {
      receives: WsRooms.Receives | WsRooms2.Receives
      sends: WsRooms.Sends | WsRooms2.Sends
    }
    [path: `/ws/log/${string}/tail`]: { receives: WsLogTail.Receives; sends: WsLogTail.Sends }
    [path: `/ws/games/${string}/move-${string}`]: {
      receives: WsGamesMove.Receives
      sends: WsGamesMove.Sends
    }
    [path: `/files/${string}`]: { receives: unknown; sends: Files.Sends }
    // Also admits the types of /ws/chat, /ws/rooms/{room}, /ws/rooms/*, /ws/log/{n:\d+}/tail, /ws/games/*/move-?: this key matches their paths
    [path: `/ws/${string}`]: {
      receives: Ws.Receives | WsChat.Receives | WsRooms.Receives | WsRooms2.Receives | WsLogTail.Receives | WsGamesMove.Receives
      sends: Ws.Sends | WsChat.Sends | WsRooms.Sends | WsRooms2.Sends | WsLogTail.Sends | WsGamesMove.Sends
    }
    '/x/a-b': { receives: XAB.Receives; sends: unknown }
    '/x/a_b': { receives: XAB2.Receives; sends: unknown }
    '/2fa': { receives: Endpoint2fa.Receives; sends: unknown }
    '/': { receives: unknown; sends: Root.Sends }
    '/binary': { receives: Binary2.Receives; sends: Binary2.Sends }
    [path: `/it's/\`odd\`/$${string}`]: { receives: ItSOdd.Receives; sends: unknown }
  }
}

/** /ws/chat (ws/a_rooms.py) */
export declare namespace WsChat {
  type Receives = Hello
  type Sends = Bye | ErrorFrame

  interface Hello {
    type: 'hello'
  }

  interface Bye {
    type: 'bye'
  }
}

/** /ws/rooms/{room} (ws/a_rooms.py) */
export declare namespace WsRooms {
  type Receives = Hello
  type Sends = Bye | ErrorFrame

  interface Hello {
    type: 'hello'
  }

  interface Bye {
    type: 'bye'
  }
}

/** /ws/rooms/* (ws/a_rooms.py) */
export declare namespace WsRooms2 {
  type Receives = Move
  type Sends = Move | ErrorFrame

  interface Move {
    type: 'move'
    x: number
  }
}

/** /ws/log/{n:\d+}/tail (ws/a_rooms.py) */
export declare namespace WsLogTail {
  type Receives = Hello
  type Sends = Bye | ErrorFrame

  interface Hello {
    type: 'hello'
  }

  interface Bye {
    type: 'bye'
  }
}

/** /ws/games/*\/move-? (ws/a_rooms.py) */
export declare namespace WsGamesMove {
  type Receives = Move
  type Sends = Move | ErrorFrame

  interface Move {
    type: 'move'
    x: number
  }
}

/** /files/** (ws/a_rooms.py) */
export declare namespace Files {
  type Sends = string[] | ErrorFrame
}

/** /ws/{anything} (ws/a_rooms.py) */
export declare namespace Ws {
  type Receives = Move
  type Sends = Hello | ErrorFrame

  interface Move {
    type: 'move'
    x: number
  }

  interface Hello {
    type: 'hello'
  }
}

/** /x/a-b (ws/b_names.py) */
export declare namespace XAB {
  type Receives = string
}

/** /x/a_b (ws/b_names.py) */
export declare namespace XAB2 {
  type Receives = string
}

/** /2fa (ws/b_names.py) */
export declare namespace Endpoint2fa {
  type Receives = number
}

/** / (ws/b_names.py) */
export declare namespace Root {
  type Sends = string | ErrorFrame
}

/** /binary (ws/b_names.py) */
export declare namespace Binary2 {
  type Receives = Binary
  type Sends = ArrayBuffer | ErrorFrame
}

/** /it's/`odd`/${x} (ws/b_names.py) */
export declare namespace ItSOdd {
  type Receives = string
}
