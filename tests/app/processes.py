"""Running ``evalroom serve`` as a real child process (restart and two-node tests)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.app.conftest import ADMIN, TOKEN_KEY

REPO = Path(__file__).resolve().parents[2]


def output_of(log: Path) -> str:
    return log.read_text(errors="replace")


SERVE = "from server.app.cli import main; main()"


async def start_server(
    data_dir: Path,
    port: int,
    log: Path,
    extra_env: dict[str, str] | None = None,
    code: str = SERVE,
) -> asyncio.subprocess.Process:
    """``evalroom serve`` as a child process (``code`` runs it); returns once ``/healthz``
    answers."""
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
            code,
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


@dataclass
class ServerProcess:
    """One server's data dir, port, log and environment, started again after every SIGKILL."""

    data_dir: Path
    port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start it on the same data (and database) as before; returns once it answers."""
        assert self.process is None or self.process.returncode is not None, "still running"
        self.process = await start_server(self.data_dir, self.port, self.log, self.env)
        self.starts += 1

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, open transactions die with the process."""
        if self.process is not None:
            await kill(self.process)
