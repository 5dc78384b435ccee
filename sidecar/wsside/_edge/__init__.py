"""Where the sidecar meets the outside: intake of upgrades (aiohttp listener or sockets the
shim hands over), the Node IPC channel and control messages, supervision, the parent watch;
and `ASGIApp`, the handlers served by an ASGI server instead.
"""
