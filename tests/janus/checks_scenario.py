"""The media checks both backends share, run on the Janus backend in one namespace.

Run by ``tests/janus/test_janus_checks.py`` as ``unshare -n python -m tests.janus.checks_scenario
--out FILE``: inside its own network namespace (``lo`` up, the veth ``v0`` with 127.0.0.2) it
starts a real coturn on 127.0.0.2 and one evalroom server whose media backend is Janus (ICE on
``v0`` only) and which hands out that coturn's credentials, then runs each scenario of
:mod:`tests.media.scenarios` and :mod:`tests.media.turn_scenario` on it in turn (one Janus for
all of them: starting one costs seconds). It writes each scenario's JSON and coturn's log; the
test applies the same checkers as the embedded backend's tests. Nothing leaves the namespace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.janus.scenario import ADDRESS, main_in_namespace
from tests.media import coturn
from tests.media.scenarios import av_alignment, one_seat_on, restart_after_drop
from tests.media.servers import JANUS_ENV, running_server
from tests.media.turn_scenario import SECRET, expired, refused_publish, relay_publish, server_env

TIMEOUT_S = 200.0


async def run(data: Path) -> dict[str, Any]:
    # On v0's address like Janus: libnice pairs no 127.0.0.2 host with a 127.0.0.1 relay.
    with coturn.running(data / "coturn", SECRET, ADDRESS) as turn:
        env = {**JANUS_ENV, **server_env(turn)}
        async with running_server(data / "node", **env) as (base, _app):
            async with one_seat_on(base) as one:
                alignment = await av_alignment(one)
            restart = await restart_after_drop(base)
            relay = await relay_publish(base, turn)
            refused = await refused_publish(base, turn, expired)
        return {
            "alignment": alignment,
            "restart": restart,
            "relay": relay,
            "refused": refused,
            "turn_log": turn.log(),
        }


if __name__ == "__main__":
    main_in_namespace("tests.janus.checks_scenario", run, TIMEOUT_S)
