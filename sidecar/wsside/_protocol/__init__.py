"""The WebSocket protocol as bytes: frames, the opening handshake, permessage-deflate, the
payload codec and the request head the shim sends. No event loop, no sockets.
"""
