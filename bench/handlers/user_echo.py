"""User-level JSON echo: what a user writes, as with the original JavaScript plugin, whose
handlers get and send values. A JSON text arrives parsed (a dict here) and goes back
encoded as compact JSON; other text stays a string, bytes stay bytes. The pure-Node reference
(node_ref/index.js, /api/ws/user-echo) parses and stringifies the same way."""

from wsside import Handler

user_echo = Handler("/ws/user-echo")


@user_echo.on_message
def message(conn, data):
    conn.send(data)
