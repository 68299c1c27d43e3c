"""The seven-seat room through a whole evalroom server whose media backend is Janus.

Run by ``tests/janus/test_janus_server.py`` as ``unshare -n python -m tests.janus.room_scenario
--out FILE``: inside its own network namespace it brings up ``lo`` and the veth ``v0``
(127.0.0.2), starts the server (which starts its own Janus, ICE on ``v0`` only), runs
:func:`tests.media.room_scenario.seven_seats` with aiortc peers announcing 127.0.0.2, and writes
the result as JSON. Nothing leaves the namespace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.janus.scenario import main_in_namespace
from tests.media.room_scenario import seven_seats
from tests.media.servers import JANUS_ENV, running_server

TIMEOUT_S = 150.0


async def run(data: Path) -> dict[str, Any]:
    async with running_server(data, **JANUS_ENV) as (base, _app):
        return await seven_seats(base, data / "recordings")


if __name__ == "__main__":
    main_in_namespace("tests.janus.room_scenario", run, TIMEOUT_S)
