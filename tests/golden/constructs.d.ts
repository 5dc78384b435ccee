// wsside-env.d.ts: the message types of the wsside handlers in ws/, for vite-plugin-wsside/client.
// Generated from their receives= and sends=: do not edit. The Vite plugin rewrites it
// when a handler file changes; without Vite: wsside types --out wsside-env.d.ts
// A page names its types: import type { WsChat } from './wsside-env' (the path from the page)
import type { Binary, ErrorFrame } from 'vite-plugin-wsside/client'

declare module 'vite-plugin-wsside/client' {
  interface Endpoints {
    '/ws/chat': { receives: WsChat.Receives; sends: WsChat.Sends }
    '/ws/anything': { receives: WsAnything.Receives; sends: WsAnything.Sends }
    '/ws/scalars': { receives: WsScalars.Receives; sends: WsScalars.Sends }
    '/ws/declared-errors': { receives: WsDeclaredErrors.Receives; sends: WsDeclaredErrors.Sends }
    '/ws/renamed': { receives: WsRenamed.Receives; sends: WsRenamed.Sends }
    '/ws/handled-errors': { receives: WsHandledErrors.Receives; sends: WsHandledErrors.Sends }
    '/ws/binary': { receives: WsBinary.Receives; sends: WsBinary.Sends }
    '/ws/plain': { receives: WsPlain.Receives; sends: WsPlain.Sends }
    '/ws/transformed': { receives: unknown; sends: WsTransformed.Sends }
  }
  // Every path the handlers serve: connect() takes no other (a path only known at
  // run time, a `string`, is not checked).
  interface Paths {
    '/ws/chat': true
    '/ws/anything': true
    '/ws/scalars': true
    '/ws/declared-errors': true
    '/ws/renamed': true
    '/ws/handled-errors': true
    '/ws/binary': true
    '/ws/plain': true
    '/ws/transformed': true
  }
}

/** /ws/chat (ws/chat.py) */
export declare namespace WsChat {
  type Receives = ChatIn | Options | Card | Receives2 | Binary
  type Sends = Joined | Comment | string | ArrayBuffer | null | ErrorFrame

  /** A line typed by the user. */
  interface ChatIn {
    type: 'chat'
    text: string
    /** int: a whole number (1.5 is refused) */
    reply_to?: number | null | undefined
    tags: string[]
    author: User
    extra: Record<string, unknown>
    score: number
  }

  /**
   * Who wrote it.
   *
   * Shown as "name (id)"; never *\/ trusted.
   */
  interface User {
    name: string
    shared: User2
  }

  interface User2 {
    /** int: a whole number (1.5 is refused) */
    id: number
  }

  interface Options {
    type: 'options'
    muted?: boolean | undefined
    colour?: 'red' | 'green' | 'it\'s "blue"\\' | 3 | true | null | undefined
    matrix?: (number | null)[][] | undefined
  }

  interface Card {
    type: 'card'
    'first-name': string
    '2fa'?: boolean | undefined
  }

  /** Named like the alias the generator declares: renamed, not clashing. */
  interface Receives2 {
    type: 'receives'
  }

  interface Joined {
    type: 'joined'
    who: string
    at: number
    rooms: string[]
  }

  interface Comment {
    body: string
    replies: Comment[]
  }
}

/** /ws/anything (ws/chat.py) */
export declare namespace WsAnything {
  type Receives = unknown
  type Sends = unknown[] | ErrorFrame
}

/** /ws/scalars (ws/chat.py) */
export declare namespace WsScalars {
  type Receives = number | boolean
  type Sends = Record<string, string>
}

/** /ws/declared-errors (ws/chat.py) */
export declare namespace WsDeclaredErrors {
  type Receives = string
  type Sends = Failure

  interface Failure {
    type: 'error'
    message: string
    /** int: a whole number (1.5 is refused) */
    code?: number
  }
}

/** /ws/renamed (ws/chat.py) */
export declare namespace WsRenamed {
  type Receives = string
  type Sends = ErrorFrame2 | string | ErrorFrame

  /** Named like the client's type the generator imports: renamed, not clashing. */
  interface ErrorFrame2 {
    type: 'frame'
  }
}

/** /ws/handled-errors (ws/chat.py) */
export declare namespace WsHandledErrors {
  type Receives = string
  type Sends = string[]
}

/** /ws/binary (ws/chat.py) */
export declare namespace WsBinary {
  type Receives = Binary
  type Sends = ArrayBuffer
}

/** /ws/plain (ws/chat.py) */
export declare namespace WsPlain {
  type Receives = string
  type Sends = string | ArrayBuffer
}

/** /ws/transformed (ws/chat.py) */
export declare namespace WsTransformed {
  // receives= types what transform_raw_data returns, not what the page sends: unknown
  type Sends = string
}
