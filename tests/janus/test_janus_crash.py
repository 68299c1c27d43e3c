"""SIGKILL of the node's Janus mid-recording: the session goes on, the cut recordings are logged
and lose little, the members publish again through a new Janus (tests/janus/crash_scenario.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.janus.conftest import REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(240),
    pytest.mark.usefixtures("janus_installed"),
]
MAX_LOSS_S = 0.35


def run_crash(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "result.json"
    command = ["unshare", "-n", sys.executable, "-m", "tests.janus.crash_scenario"]
    command += ["--out", str(out)]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=200, check=False
    )
    assert done.returncode == 0, f"scenario failed:\n{done.stderr[-6000:]}"
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def lost_s(result: dict[str, Any], manifest: dict[str, Any]) -> float:
    """Seconds of a track the seat had sent when Janus died that its recording lacks."""
    sent = result["sent_at_kill"][manifest["seat"]][manifest["track"]]
    assert manifest["packets"] <= sent
    per_frame = 1 / result["fps"] if manifest["track"] == "video" else result["audio_frame_s"]
    return float((sent - manifest["packets"]) * per_frame)


def test_sigkill_of_janus_loses_little_and_the_session_goes_on(tmp_path: Path) -> None:
    result = run_crash(tmp_path)
    seats = result["seats"]
    every = {(s, k) for s in seats for k in ("audio", "video")}

    # The session server kept answering, and the node started a new Janus.
    assert result["state_ok"]
    assert result["new_pid"] != result["killed_pid"]
    assert result["janus_alive"]

    # Every recording Janus was writing was converted, logged as cut, and is what it says.
    assert len(result["writing"]) == len(every)
    for name in result["writing"]:
        assert f"{name}.done" in result["janus_dir"], result["janus_dir"]
        assert name not in result["janus_dir"]
    manifests = result["manifests"]
    assert len(manifests) == len(every)
    assert {(m["seat"], m["track"]) for m in manifests} == every
    assert result["unbuffered"], "Janus ran without the unbuffered .mjr library (no C compiler?)"
    for manifest in manifests:
        assert manifest["cut"] is True
        held = result["files"][manifest["file"]]
        assert held["sha256"] == manifest["sha256"]
        assert held["size"] == manifest["size"]
        assert held["mode"] == 0o400
        assert held["packets"] == manifest["packets"]
        assert held["frames"] == held["packets"]  # every packet decodes with PyAV
        if manifest["track"] == "video":
            assert held["size_px"] == [320, 240]
        loss = lost_s(result, manifest)
        print(f"SIGKILL of Janus lost {loss:.3f} s of {manifest['seat']} {manifest['track']}")
        assert loss <= MAX_LOSS_S

    # Every member was told to publish again; the seats did, through the new Janus.
    assert set(result["restarts"]) == {"supervisor", *seats}
    assert all(r == ["media_backend_restarted"] for r in result["restarts"].values())
    assert result["republished"] == [["audio", "video"]] * len(seats)
    before = {(s, k): n for s, k, n in result["frames_before_again"]}
    after = {(s, k): n for s, k, n in result["frames_after"]}
    assert all(after[key] >= before[key] + 20 for key in every), (before, after)
