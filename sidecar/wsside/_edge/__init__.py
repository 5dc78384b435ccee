"""Where the sidecar meets the outside: intake of upgrades (aiohttp's listener, or sockets the
shim hands over) and the admission rules every server shares; the `Sidecar` that serves them;
shim mode (the Node IPC channel, control messages, the parent watch); `--workers`
supervision; the event loop; and `ASGIApp`, the handlers served by an ASGI server instead.
`interpreter.py` reads the shim's interpreter rules for `wsside doctor`.
"""
