"""The embedded backend's media checks, held against the Janus backend: A/V alignment with a
late camera, ICE restart after a dropped uplink, and a relay-only seat through a real coturn
with a fresh credential (and refused with an expired one). One namespace, one Janus, one run
(:mod:`tests.janus.checks_scenario`); each test reads its part of the result."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.janus.checks_scenario import TIMEOUT_S
from tests.janus.conftest import REPO, require_janus
from tests.media.scenarios import check_alignment, check_restart
from tests.media.turn_scenario import check_refused, check_relay

pytestmark = [pytest.mark.slow, pytest.mark.timeout(int(TIMEOUT_S) + 60)]


@pytest.fixture(scope="module")
def janus_checks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    require_janus()
    out = tmp_path_factory.mktemp("janus-checks") / "result.json"
    command = ["unshare", "-n", sys.executable, "-m", "tests.janus.checks_scenario"]
    command += ["--out", str(out)]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S + 30, check=False
    )
    assert done.returncode == 0, f"scenario failed:\n{done.stderr[-6000:]}"
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def test_audio_and_video_align_from_arrival_on_janus(janus_checks: dict[str, Any]) -> None:
    result = janus_checks["alignment"]
    check_alignment(result)
    # .mjr keeps no RTCP: Janus's files are placed by their first packet's arrival (the header's
    # "u"), which on the seat's one hop to Janus is within the tolerance of the send time.
    assert all(not m["sender_reports"] for m in result["manifests"].values())


def test_a_dropped_uplink_recovers_by_restart_on_janus(janus_checks: dict[str, Any]) -> None:
    check_restart(janus_checks["restart"])


def test_a_relay_only_seat_publishes_to_janus_through_coturn(janus_checks: dict[str, Any]) -> None:
    check_relay(janus_checks["relay"], janus_checks["turn_log"])


def test_coturn_refuses_an_expired_credential_on_janus(janus_checks: dict[str, Any]) -> None:
    check_refused(janus_checks["refused"], janus_checks["turn_log"])
