// The plugin's `define` (node_shim/index.js), as the client's JSDoc sees it.
declare const __WSSIDE_PREFIX__: string | undefined
