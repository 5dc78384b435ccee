"""Echo: every message goes back to its sender unchanged (text stays text, bytes stay bytes)."""

from wsside import Handler

echo = Handler("/ws/echo")


@echo.on_message
def message(conn, data):
    conn.send(data)
