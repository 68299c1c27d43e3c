"""Janus tests need Debian's janus and janus-tools and a private network namespace.

Locally a machine without them skips with the reason; on CI (``CI=true``) that is a failure,
because scripts/install-media.sh is part of CI's set-up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 150


def _missing(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} on CI (scripts/install-media.sh must run first)")
    pytest.skip(why)


@pytest.fixture
def janus_installed() -> None:
    require_janus()


def require_janus() -> None:
    """Skip (fail on CI) unless Janus, its tools and a private network namespace are here."""
    for tool in ("janus", "janus-pp-rec", "unshare", "ip"):
        if shutil.which(tool) is None:
            _missing(f"{tool} is not installed (run scripts/install-media.sh)")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10, check=False)
    if probe.returncode != 0:
        _missing(f"cannot make a private network namespace: {probe.stderr.decode().strip()}")


def run_scenario(tmp_path: Path, *args: str) -> dict[str, Any]:
    """``tests/janus/scenario.py`` in a new network namespace; its JSON result."""
    out = tmp_path / "result.json"
    command = ["unshare", "-n", sys.executable, "-m", "tests.janus.scenario", *args]
    command += ["--out", str(out)]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, f"scenario failed:\n{done.stderr[-4000:]}"
    result: dict[str, Any] = json.loads(out.read_text())
    return result
