// wsside-env.d.ts: the message types of the wsside handlers in ws/, for vite-plugin-wsside/client.
// Generated from their receives= and sends=: do not edit. The Vite plugin rewrites it
// when a handler file changes; without Vite: wsside types --out wsside-env.d.ts
// A page names its types: import type { Ws_Typed_dash_Chat } from './wsside-env' (the path from the page)
import type { ErrorFrame } from 'vite-plugin-wsside/client'

declare module 'vite-plugin-wsside/client' {
  interface Endpoints {
    '/ws/typed-chat': { receives: unknown; sends: Ws_Typed_dash_Chat.Sends }
    '/ws/typed-chat2': { receives: unknown; sends: WsTypedChat2.Sends }
    '/ws/typed/chat': { receives: unknown; sends: Ws_Typed_Chat.Sends }
    '/ws/typed_chat': { receives: unknown; sends: Ws_Typed_underscore_Chat.Sends }
    // Also admits the types of /ws/rooms/*, /ws/rooms/**, /ws/rooms/{room}/: this key matches their paths
    [path: `/ws/rooms/${string}`]: {
      receives: unknown
      sends: Ws_Rooms_$Room.Sends | Ws_Rooms_star.Sends | Ws_Rooms_globstar.Sends | Ws_Rooms_$Room_.Sends
    }
    [path: `/ws/rooms/${string}/`]: { receives: unknown; sends: Ws_Rooms_$Room_.Sends }
    '/ws/rooms': { receives: unknown; sends: Ws_Rooms.Sends }
    '/binary': { receives: unknown; sends: _Binary.Sends }
    '/binary2': { receives: unknown; sends: _Binary2.Sends }
    '/receives': { receives: unknown; sends: Receives2.Sends }
    [path: `/2fa/${string}`]: { receives: unknown; sends: _2fa_$User.Sends }
    [path: `/endpoint2fa/${string}`]: { receives: unknown; sends: Endpoint2fa_$Id.Sends }
    '/': { receives: unknown; sends: _.Sends }
    '/root': { receives: unknown; sends: _Root.Sends }
    '/ws/Case': { receives: unknown; sends: Ws_Case_h8c9ce47e.Sends }
    '/ws/case': { receives: unknown; sends: Ws_Case_h1d6b546b.Sends }
    '/ws/it\'s.~x': { receives: unknown; sends: Ws_It_x27_S_dot_tilde_X.Sends }
    '/ws/it/s/x': { receives: unknown; sends: Ws_It_S_X.Sends }
  }
  // Every path the handlers serve: connect() takes no other (a path only known at
  // run time, a `string`, is not checked).
  interface Paths {
    '/ws/typed-chat': true
    '/ws/typed-chat2': true
    '/ws/typed/chat': true
    '/ws/typed_chat': true
    [path: `/ws/rooms/${string}`]: true
    [path: `/ws/rooms/${string}/`]: true
    '/ws/rooms': true
    '/binary': true
    '/binary2': true
    '/receives': true
    [path: `/2fa/${string}`]: true
    [path: `/endpoint2fa/${string}`]: true
    '/': true
    '/root': true
    '/ws/Case': true
    '/ws/case': true
    '/ws/it\'s.~x': true
    '/ws/it/s/x': true
  }
}

/**
 * /ws/typed-chat (ws/a_chat.py)
 * Not WsTypedChat: /ws/typed/chat and /ws/typed_chat would have that name too, so each is named
 * from its whole pattern (see docs/types.md)
 */
export declare namespace Ws_Typed_dash_Chat {
  type Sends = ChatMessage | ErrorFrame

  interface ChatMessage {
    type: 'chat-message'
    text: string
  }
}

/** /ws/typed-chat2 (ws/a_chat.py) */
export declare namespace WsTypedChat2 {
  type Sends = ChatMessage | ErrorFrame

  interface ChatMessage {
    type: 'chat-message'
    text: string
  }
}

/**
 * /ws/typed/chat (ws/b_chat.py)
 * Not WsTypedChat: /ws/typed-chat and /ws/typed_chat would have that name too, so each is named
 * from its whole pattern (see docs/types.md)
 */
export declare namespace Ws_Typed_Chat {
  type Sends = ChatMessage | ErrorFrame

  interface ChatMessage {
    type: 'chat-message'
    author: string
  }
}

/**
 * /ws/typed_chat (ws/b_chat.py)
 * Not WsTypedChat: /ws/typed-chat and /ws/typed/chat would have that name too, so each is named
 * from its whole pattern (see docs/types.md)
 */
export declare namespace Ws_Typed_underscore_Chat {
  type Sends = ChatMessage | ErrorFrame

  interface ChatMessage {
    type: 'chat-message'
    author: string
  }
}

/**
 * /ws/rooms/{room} (ws/b_chat.py)
 * Not WsRooms: /ws/rooms/{room}/, /ws/rooms/*, /ws/rooms/** and /ws/rooms would have that name
 * too, so each is named from its whole pattern (see docs/types.md)
 */
export declare namespace Ws_Rooms_$Room {
  type Sends = string
}

/**
 * /ws/rooms/{room}/ (ws/b_chat.py)
 * Not WsRooms: /ws/rooms/{room}, /ws/rooms/*, /ws/rooms/** and /ws/rooms would have that name too,
 * so each is named from its whole pattern (see docs/types.md)
 */
export declare namespace Ws_Rooms_$Room_ {
  type Sends = string
}

/**
 * /ws/rooms/* (ws/b_chat.py)
 * Not WsRooms: /ws/rooms/{room}, /ws/rooms/{room}/, /ws/rooms/** and /ws/rooms would have that
 * name too, so each is named from its whole pattern (see docs/types.md)
 */
export declare namespace Ws_Rooms_star {
  type Sends = string
}

/**
 * /ws/rooms/** (ws/b_chat.py)
 * Not WsRooms: /ws/rooms/{room}, /ws/rooms/{room}/, /ws/rooms/* and /ws/rooms would have that name
 * too, so each is named from its whole pattern (see docs/types.md)
 */
export declare namespace Ws_Rooms_globstar {
  type Sends = string
}

/**
 * /ws/rooms (ws/b_chat.py)
 * Not WsRooms: /ws/rooms/{room}, /ws/rooms/{room}/, /ws/rooms/* and /ws/rooms/** would have that
 * name too, so each is named from its whole pattern (see docs/types.md)
 */
export declare namespace Ws_Rooms {
  type Sends = string
}

/**
 * /binary (ws/b_chat.py)
 * Not Binary2: /binary2 would have that name too, so each is named from its whole pattern (see
 * docs/types.md)
 */
export declare namespace _Binary {
  type Sends = string
}

/**
 * /binary2 (ws/b_chat.py)
 * Not Binary2: /binary would have that name too, so each is named from its whole pattern (see
 * docs/types.md)
 */
export declare namespace _Binary2 {
  type Sends = string
}

/** /receives (ws/b_chat.py) */
export declare namespace Receives2 {
  type Sends = string
}

/**
 * /2fa/{user} (ws/b_chat.py)
 * Not Endpoint2fa: /endpoint2fa/{id:\d{2}} would have that name too, so each is named from its
 * whole pattern (see docs/types.md)
 */
export declare namespace _2fa_$User {
  type Sends = string
}

/**
 * /endpoint2fa/{id:\d{2}} (ws/b_chat.py)
 * Not Endpoint2fa: /2fa/{user} would have that name too, so each is named from its whole pattern
 * (see docs/types.md)
 */
export declare namespace Endpoint2fa_$Id {
  type Sends = string
}

/**
 * / (ws/b_chat.py)
 * Not Root: /root would have that name too, so each is named from its whole pattern (see
 * docs/types.md)
 */
export declare namespace _ {
  type Sends = string
}

/**
 * /root (ws/b_chat.py)
 * Not Root: / would have that name too, so each is named from its whole pattern (see
 * docs/types.md)
 */
export declare namespace _Root {
  type Sends = string
}

/**
 * /ws/Case (ws/b_chat.py)
 * Not WsCase: /ws/case would have that name too, so each is named from its whole pattern (see
 * docs/types.md)
 */
export declare namespace Ws_Case_h8c9ce47e {
  type Sends = string
}

/**
 * /ws/case (ws/b_chat.py)
 * Not WsCase: /ws/Case would have that name too, so each is named from its whole pattern (see
 * docs/types.md)
 */
export declare namespace Ws_Case_h1d6b546b {
  type Sends = string
}

/**
 * /ws/it's.~x (ws/b_chat.py)
 * Not WsItSX: /ws/it/s/x would have that name too, so each is named from its whole pattern (see
 * docs/types.md)
 */
export declare namespace Ws_It_x27_S_dot_tilde_X {
  type Sends = string
}

/**
 * /ws/it/s/x (ws/b_chat.py)
 * Not WsItSX: /ws/it's.~x would have that name too, so each is named from its whole pattern (see
 * docs/types.md)
 */
export declare namespace Ws_It_S_X {
  type Sends = string
}
