"""Server defects the fuzzer found and the server does not handle yet (issue 10, item 10).

Each is one class of input, named by :func:`known_defect`. The CI test leaves these inputs out
(and says how many it left out); ``bench/fuzz.py`` sends them unless ``--skip-known``, so its
figures show the server as it is. Remove a class here once the server handles it.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fuzz.inputs import (
    SOCKET_EVENTS,
    ConnectInput,
    FrameInput,
    FuzzInput,
    Signed,
    SocketInput,
)

DEFECTS = {
    "unknown_event": (
        "an event the default namespace has no handler for (any name but join, sync, state, "
        "results, command, checkpoint, proof) gets no ack: python-socketio drops it"
    ),
    "reserved_event": (
        "a client EVENT named 'connect' or 'disconnect' runs that handler: 'connect' raises "
        "ConnectionRefusedError or TypeError inside the event task (asyncio 'Task exception was "
        "never retrieved', no ack); 'disconnect' forgets the socket's grant while the socket stays "
        "open, so every later event on it is refused 'unauthenticated' (on /media it also leaves "
        "the room)"
    ),
    "extra_args": (
        "an event with two or more arguments on the default namespace (or 'join' on /media) "
        "raises TypeError (handler takes 1 to 2 positional arguments): traceback, no ack"
    ),
    "huge_int": (
        "an integer of more than 100 digits anywhere in a socket.io packet (an event's payload or "
        "a CONNECT's auth, e.g. 10**100): engineio.json's _safe_int raises 'Integer is too "
        "large' while the packet is decoded, so it is logged with a traceback and dropped, and "
        "the call gets no answer (PROTOCOL.md promises 'malformed' for integers past 64 bits)"
    ),
    "number_auth": (
        "a CONNECT whose auth is a bare JSON number ('400.5', '404.49e+16'): the decoder takes its "
        "leading digits for an ack id and fails on the rest (JSONDecodeError, traceback), so the "
        "CONNECT is neither accepted nor refused"
    ),
    "undecodable_packet": (
        "a socket.io packet the stock decoder refuses (invalid JSON, an integer over 4,300 "
        "digits, an unknown packet type, an event without data or with an empty list, a bad ack "
        "id) is logged by engineio.server as 'message async handler error' with a traceback and "
        "dropped; one with an ack id gets no answer"
    ),
}

_DIGITS = re.compile(r"[0-9]{101}")
_EVENT = re.compile(r'^2(/media,)?[0-9]+\["')


def _huge(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) >= 10**100
    if isinstance(value, Signed):  # what lands in the envelope as it is, not inside ``signed``
        mutation = value.mutation
        return value.stage in ("envelope", "sig") and mutation is not None and _huge(mutation.value)
    if isinstance(value, dict):
        return any(_huge(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_huge(item) for item in value)
    return False


def known_defect(item: FuzzInput) -> str | None:
    """The :data:`DEFECTS` key of a class of inputs the server mishandles, else None."""
    if isinstance(item, SocketInput) and _huge(item.args):
        return "huge_int"
    if isinstance(item, ConnectInput) and _huge(item.auth):
        return "huge_int"
    if isinstance(item, ConnectInput) and isinstance(item.auth, int | float):
        return None if isinstance(item.auth, bool) else "number_auth"
    if isinstance(item, SocketInput):
        if item.event in ("connect", "disconnect"):
            return "reserved_event"
        if item.namespace == "/" and item.event not in SOCKET_EVENTS:
            return "unknown_event"
        if len(item.args) > 1 and (item.namespace == "/" or item.event == "join"):
            return "extra_args"
    if isinstance(item, FrameInput):
        if _DIGITS.search(item.text):
            return "huge_int"
        if item.ack is None or not _EVENT.match(item.text):
            return "undecodable_packet"
        event = item.text.split('["', 1)[1].split('"', 1)[0]
        if event in ("connect", "disconnect"):
            return "reserved_event"
        if item.namespace == "/" and event not in SOCKET_EVENTS:
            return "unknown_event"
    return None
