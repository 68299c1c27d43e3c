"""Running ``evalroom serve`` as a real child process (restart and two-node tests)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import aiohttp

from tests.app.conftest import ADMIN, TOKEN_KEY

REPO = Path(__file__).resolve().parents[2]


def output_of(log: Path) -> str:
    return log.read_text(errors="replace")


async def start_server(
    data_dir: Path, port: int, log: Path, extra_env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """``evalroom serve`` as a child process; returns once ``/healthz`` answers."""
    env = {
        **os.environ,
        "EVALROOM_ADMIN_TOKEN": ADMIN,
        "EVALROOM_TOKEN_KEY": TOKEN_KEY,
        **(extra_env or {}),
    }
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from server.app.cli import main; main()",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "serve",
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            cwd=str(REPO),
        )
    url = f"http://127.0.0.1:{port}/healthz"
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if process.returncode is not None:
                raise AssertionError(f"server exited: {output_of(log)}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as response:
                    if response.status == 200:
                        return process
            await asyncio.sleep(0.05)
    raise AssertionError(f"server did not start: {output_of(log)}")


async def kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGKILL)
    await process.wait()
