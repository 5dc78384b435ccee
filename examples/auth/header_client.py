"""The header form of authentication, from a non-browser client.

python header_client.py [ws://127.0.0.1:5173/api/ws/private] [token]
"""

import asyncio
import sys

import aiohttp


async def main(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, headers=headers) as ws:
                print(await ws.receive_json(timeout=5))
        except aiohttp.WSServerHandshakeError as exc:
            print(f"refused: HTTP {exc.status}")
            sys.exit(1)


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(
        main(
            args[0] if args else "ws://127.0.0.1:5173/api/ws/private",
            args[1] if len(args) > 1 else "alice-secret",
        )
    )
