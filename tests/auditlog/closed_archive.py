"""A real closed session's archive: a server on loopback, the whole simulated session (enrolment,
chair election, blind scoring under codes, the chair's signed blind.close, review, close), then
the archive as an auditor downloads it. Shared by the doc test and ``bench/archive_mutations.py``.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

import aiohttp

from server.client.simulate import run_session
from tests.app.conftest import create_session, load_lot, running_node


def node(data_dir: Path) -> AbstractAsyncContextManager[str]:
    """A node as the app tests' ``server`` fixture runs it; yields its base URL."""
    return running_node(data_dir)


async def closed_session_archive(data_dir: Path) -> tuple[bytes, str]:
    """Run a whole session on a fresh node in ``data_dir``; its archive bytes and node key."""
    async with node(data_dir) as base:
        lot = load_lot()
        created = await create_session(base, lot)
        await run_session(base, created, lot)
        url = f"{base}/api/sessions/{created['session']}/archive"
        auditor = {"Authorization": f"Bearer {created['auditor']}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/node") as response:
                node_key = str((await response.json())["verifier_key"])
            # The close forces a checkpoint in its own transaction: the archive ends with it.
            async with http.get(url, headers=auditor) as response:
                assert response.status == 200, await response.text()
                data = await response.read()
    return data, node_key
