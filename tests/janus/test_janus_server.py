"""Seven seats and a supervisor through the evalroom server with the Janus backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.janus.conftest import REPO
from tests.media.room_scenario import check_seven_seats

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(240),
    pytest.mark.usefixtures("janus_installed"),
]


def test_seven_seats_and_a_supervisor_through_janus(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    command = [
        "unshare",
        "-n",
        sys.executable,
        "-m",
        "tests.janus.room_scenario",
        "--out",
        str(out),
    ]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=200, check=False
    )
    assert done.returncode == 0, f"scenario failed:\n{done.stderr[-6000:]}"
    check_seven_seats(json.loads(out.read_text()), exact=False)
