"""A real session exported as an archive (HTTP and CLI) verifies; the wrong roles get nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import zipfile
from pathlib import Path

import aiohttp

from server.auditlog.archive import verify_archive
from server.client.simulate import run_session
from tests.app.conftest import ADMIN, Room

REPO = Path(__file__).resolve().parents[2]


async def test_auditor_downloads_an_archive_that_verifies(room: Room, tmp_path: Path) -> None:
    await run_session(room.base, room.created, room.lot_json)
    url = f"{room.base}/api/sessions/{room.session}/archive"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{room.base}/api/node") as response:
            node_key = (await response.json())["verifier_key"]
        for token in (room.created["public"], "garbage", None):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.get(url, headers=headers) as response:
                assert response.status in (401, 403), token
        auditor = {"Authorization": f"Bearer {room.created['auditor']}"}
        async with http.get(url, headers=auditor) as response:
            assert response.status == 200
            assert "attachment" in response.headers["Content-Disposition"]
            data = await response.read()
        async with http.get(
            f"{room.base}/api/sessions/{room.session}/events", headers=auditor
        ) as response:
            head = (await response.json())["head"]
    path = tmp_path / "archive.zip"
    path.write_bytes(data)
    report = verify_archive(path, node_key=node_key)
    assert report.ok, [str(p) for p in report.problems]
    with zipfile.ZipFile(path) as zf:
        lines = zf.read("events.jsonl").splitlines()
        assert len(lines) == head
        assert any(name.startswith("checkpoints/") for name in zf.namelist())
    # The same through the command line, as an auditor would run it.
    verdict = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server.app.cli", "verify", str(path), "--node-key", node_key],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    broken = bytearray(data)
    broken[len(broken) // 3] ^= 0xFF
    (tmp_path / "broken.zip").write_bytes(bytes(broken))
    assert not verify_archive(tmp_path / "broken.zip", node_key=node_key).ok


async def _evalroom(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``evalroom`` command of this checkout in a child process."""
    command = [sys.executable, "-c", "from server.app.cli import main; main()", *args]
    return await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        env={"PATH": "/usr/bin:/bin", "EVALROOM_ADMIN_TOKEN": ADMIN},
    )


async def test_cli_archive_exports_from_the_data_dir(room: Room, tmp_path: Path) -> None:
    await run_session(room.base, room.created, room.lot_json)
    data_dir = str(tmp_path)  # the server fixture's data directory
    out = tmp_path / "out" / "cli.zip"
    done = await _evalroom("--data-dir", data_dir, "archive", room.session, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "archived" in done.stdout
    assert verify_archive(out).ok
    missing = await _evalroom(
        "--data-dir", data_dir, "archive", "no-such-session", "-o", str(tmp_path / "x.zip")
    )
    assert missing.returncode != 0
    assert "no-such-session" in missing.stderr
