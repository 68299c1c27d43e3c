"""A refused connection says why as the JavaScript client reads it: err.message, err.data."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio


@pytest.mark.parametrize("namespace", ["/", "/media"])
async def test_a_bad_token_is_refused_with_a_typed_error_object(
    server: str, namespace: str
) -> None:
    client = socketio.AsyncClient(reconnection=False)
    refused: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    client.on("connect_error", lambda data: refused.set_result(data), namespace=namespace)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            server, auth={"token": "v1.bm90.aXQ"}, namespaces=[namespace], transports=["websocket"]
        )
    data = await asyncio.wait_for(refused, 10)
    assert isinstance(data, dict)
    assert data["data"]["code"] == "unauthenticated"
    assert data["message"] == data["data"]["message"]
    await client.disconnect()
