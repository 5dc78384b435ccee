"""The Autobahn echo endpoint: text back as text, binary back as binary, compressed when offered.

`transform_raw_data` keeps text as the received string (no JSON parsing), so the echo is
byte-exact. The size limit is above the 16 MiB payloads of Autobahn's 9.* cases.
"""

from wsside import Handler

echo = Handler(
    "/echo",
    per_message_deflate=True,
    max_message_size=64 * 1024 * 1024,
    transform_raw_data=lambda raw: raw,
)


@echo.on_message
async def reply(conn, data):
    await conn.send(data)
