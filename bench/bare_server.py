"""The baseline: a bare python-socketio broadcast server (no checks, no storage).

It answers ``join`` by entering the room and ``command`` by broadcasting the payload to the room
and acknowledging: what the evalroom pipeline is compared against in ``bench/sync.py``.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp", transports=["websocket"])
app = web.Application()
sio.attach(app)
seqs = itertools.count(1)


@sio.event  # type: ignore[untyped-decorator]
async def join(sid: str, data: Any) -> dict[str, Any]:
    await sio.enter_room(sid, data["room"])
    return {"ok": True, "head": 0, "events": []}


@sio.event  # type: ignore[untyped-decorator]
async def command(sid: str, data: Any) -> dict[str, Any]:
    seq = next(seqs)
    await sio.emit("events", [{"seq": seq, "data": data}], room=data["room"])
    return {"ok": True, "seq": seq}


if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
