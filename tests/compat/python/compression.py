"""permessage-deflate with Python's websockets (Debian's python3-websockets): the gateway's answer in the 101, and a
large JSON message echoed whole. Run by the .NET test that starts the gateway: python3 compression.py <url>"""
import asyncio
import json
import sys

import websockets


async def main(url: str) -> None:
    large = json.dumps({"action": "relay", "chunks": [{"n": i, "token": f"word-{i % 13}"} for i in range(400)]})
    async with websockets.connect(url, compression="deflate", open_timeout=10) as ws:
        answered = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        assert answered.startswith("permessage-deflate; server_no_context_takeover; client_no_context_takeover"), answered
        connected = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert connected["type"] == "connected", connected
        await ws.send(large)
        echoed = await asyncio.wait_for(ws.recv(), 10)
        assert echoed == large, "the echo differs"
    print("ok: " + answered)


asyncio.run(main(sys.argv[1]))
