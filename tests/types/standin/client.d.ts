// A stand-in for the declarations of vite-plugin-wsside/client, following the contract that
// the generated wsside-env.d.ts augments, until the client is on main.
export interface Endpoints {}

type Entry<P> = P extends keyof Endpoints ? Endpoints[P] : { receives: unknown; sends: unknown }
type TypeOf<M> = unknown extends M ? string : M extends { type: infer T extends string } ? T : never
type Received<P, T> = unknown extends Entry<P>['sends'] ? unknown : Extract<Entry<P>['sends'], { type: T }>

export type Binary = ArrayBuffer | ArrayBufferView | Blob

export interface Socket<P extends string> {
  send(message: Entry<P>['receives']): void
  on<T extends TypeOf<Entry<P>['sends']>>(type: T, listener: (message: Received<P, T>) => void): () => void
}

export function connect<P extends string>(path: P): Socket<P>
