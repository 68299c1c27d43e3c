"""``evalroom token auditor``: a new auditor link minted offline that a running node accepts.

The command runs as the operator runs it (a child process with the node's data dir and token
key) while a real node serves the same data dir on loopback.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from server.app.cli import build_parser
from server.app.secrets import Secret
from server.app.tokens import TokenMinter
from server.domain.errors import Code, CommandError
from server.domain.roles import Role
from tests.app.conftest import ADMIN, TOKEN_KEY, create_session, load_lot, running_node

REPO = Path(__file__).resolve().parents[2]
DAY = 86400


async def cli(data_dir: Path, port: int, *args: str) -> tuple[int, str, str]:
    """``evalroom --data-dir … --port … <args>``: exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.app.cli",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        *args,
        env={**os.environ, "EVALROOM_TOKEN_KEY": TOKEN_KEY},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(REPO),
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def get(base: str, path: str, token: str) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.get(base + path, headers=headers) as answer:
        return answer.status, await answer.json()


async def test_the_printed_link_opens_the_session_as_auditor_for_n_days(tmp_path: Path) -> None:
    async with running_node(tmp_path) as base:
        port = int(base.rsplit(":", 1)[1])
        session = (await create_session(base, load_lot()))["session"]
        # the auditor's first token is revoked: the new one must carry the new generation
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{base}/api/sessions/{session}/tokens/revoke",
                json={"role": "auditor", "subject": "auditor", "reason": "laptop lost"},
                headers={"Authorization": f"Bearer {ADMIN}"},
            ) as answer,
        ):
            assert answer.status == 200, await answer.text()
        before = int(time.time())
        code, out, err = await cli(tmp_path, port, "token", "auditor", session, "--days", "3")
        assert code == 0, err
        found = re.search(rf"{re.escape(base)}/auditor/{session}#token=(\S+)", out)
        assert found is not None, out
        token = found.group(1)
        status, state = await get(base, f"/api/sessions/{session}/state", token)
        assert status == 200, state
        assert state["state"]["session"] == session  # type: ignore[index]
        status, listing = await get(base, f"/api/sessions/{session}/recordings", token)
        assert status == 200, listing  # forbidden for experts and the public screen
    claims = TokenMinter(Secret(TOKEN_KEY)).claims(token, before)
    assert claims.principal.role is Role.AUDITOR
    assert claims.principal.session == session
    assert claims.generation == 1
    assert before + 3 * DAY <= claims.exp <= int(time.time()) + 3 * DAY
    with pytest.raises(CommandError) as expired:
        TokenMinter(Secret(TOKEN_KEY)).claims(token, claims.exp)
    assert expired.value.code is Code.TOKEN_EXPIRED
    assert "3 天 days" in out


async def test_an_unknown_session_is_refused(tmp_path: Path) -> None:
    async with running_node(tmp_path) as base:
        port = int(base.rsplit(":", 1)[1])
        await create_session(base, load_lot())
        code, out, err = await cli(tmp_path, port, "token", "auditor", "s-000000000000")
    assert code == 1
    assert "no session 's-000000000000'" in err
    assert "token=" not in out


@pytest.mark.parametrize("days", ["0", "3651", "-1", "seven"])
def test_a_term_outside_1_to_3650_days_is_refused(
    days: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args(["token", "auditor", "s-x", "--days", days])
    assert refused.value.code == 2  # argparse: a usage error
    assert "--days" in capsys.readouterr().err
    assert build_parser().parse_args(["token", "auditor", "s-x", "--days", "3650"]).days == 3650
