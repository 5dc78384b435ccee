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
      receives: Ws_Rooms_$Room.Receives | Ws_Rooms_star.Receives
      sends: Ws_Rooms_$Room.Sends | Ws_Rooms_star.Sends
    }
    [path: `/ws/log/${string}/tail`]: { receives: WsLogTail.Receives; sends: WsLogTail.Sends }
    [path: `/ws/games/${string}/move-${string}`]: {
      receives: WsGamesMove.Receives
      sends: WsGamesMove.Sends
    }
    [path: `/files/${string}`]: { receives: unknown; sends: Files.Sends }
    // Also admits the types of /ws/chat, /ws/rooms/{room}, /ws/rooms/*, /ws/log/{n:\d+}/tail, /ws/games/*/move-?: this key matches their paths
    [path: `/ws/${string}`]: {
      receives: Ws.Receives | WsChat.Receives | Ws_Rooms_$Room.Receives | Ws_Rooms_star.Receives | WsLogTail.Receives | WsGamesMove.Receives
      sends: Ws.Sends | WsChat.Sends | Ws_Rooms_$Room.Sends | Ws_Rooms_star.Sends | WsLogTail.Sends | WsGamesMove.Sends
    }
    '/x/a-b': { receives: X_A_dash_B.Receives; sends: unknown }
    '/x/a_b': { receives: X_A_underscore_B.Receives; sends: unknown }
    '/2fa': { receives: Endpoint2fa.Receives; sends: unknown }
    '/': { receives: unknown; sends: Root.Sends }
    '/binary': { receives: Binary2.Receives; sends: Binary2.Sends }
    [path: `/it's/\`odd\`/$${string}`]: { receives: ItSOdd.Receives; sends: unknown }
  }
  // Every path the handlers serve: connect() takes no other (a path only known at
  // run time, a `string`, is not checked).
  interface Paths {
    '/ws/chat': true
    [path: `/ws/rooms/${string}`]: true
    [path: `/ws/log/${string}/tail`]: true
    [path: `/ws/games/${string}/move-${string}`]: true
    [path: `/files/${string}`]: true
    [path: `/ws/${string}`]: true
    '/ws/untyped': true
    '/x/a-b': true
    '/x/a_b': true
    '/2fa': true
    '/': true
    '/binary': true
    [path: `/it's/\`odd\`/$${string}`]: true
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

/**
 * /ws/rooms/{room} (ws/a_rooms.py)
 * Not WsRooms: /ws/rooms/* would have that name too, so each is named from its whole pattern (see
 * docs/types.md)
 */
export declare namespace Ws_Rooms_$Room {
  type Receives = Hello
  type Sends = Bye | ErrorFrame

  interface Hello {
    type: 'hello'
  }

  interface Bye {
    type: 'bye'
  }
}

/**
 * /ws/rooms/* (ws/a_rooms.py)
 * Not WsRooms: /ws/rooms/{room} would have that name too, so each is named from its whole pattern
 * (see docs/types.md)
 */
export declare namespace Ws_Rooms_star {
  type Receives = Move
  type Sends = Move | ErrorFrame

  interface Move {
    type: 'move'
    /** int: a whole number (1.5 is refused) */
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
    /** int: a whole number (1.5 is refused) */
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
    /** int: a whole number (1.5 is refused) */
    x: number
  }

  interface Hello {
    type: 'hello'
  }
}

/**
 * /x/a-b (ws/b_names.py)
 * Not XAB: /x/a_b would have that name too, so each is named from its whole pattern (see
 * docs/types.md)
 */
export declare namespace X_A_dash_B {
  type Receives = string
}

/**
 * /x/a_b (ws/b_names.py)
 * Not XAB: /x/a-b would have that name too, so each is named from its whole pattern (see
 * docs/types.md)
 */
export declare namespace X_A_underscore_B {
  type Receives = string
}

/** /2fa (ws/b_names.py) */
export declare namespace Endpoint2fa {
  type Receives = number
}

/** / (ws/b_names.py) */
export declare namespace Root {
  type Sends = string
}

/** /binary (ws/b_names.py) */
export declare namespace Binary2 {
  type Receives = Binary
  type Sends = ArrayBuffer
}

/** /it's/`odd`/${x} (ws/b_names.py) */
export declare namespace ItSOdd {
  type Receives = string
}
