"""Media events: only the media service writes them, each checked, and experts see their own."""

from __future__ import annotations

from typing import Any

import pytest

from server.domain.commands import decide
from server.domain.errors import Code, CommandError
from server.domain.events import schema_problems, seal
from server.domain.media import MediaRecord
from server.domain.roles import Principal, Role
from server.domain.state import SessionState
from server.domain.views import Viewer, event_view
from tests.domain.driver import SUP, Session
from tests.domain.media_steps import MEDIA, RECORDING, media_day

H1 = "expert:host-1"


@pytest.fixture
def state(lot_json: dict[str, Any]) -> SessionState:
    session = Session(lot_json)
    session.enrol_all()
    return session.state


def test_every_media_fact_becomes_its_event(state: SessionState) -> None:
    for record in media_day():
        (draft,) = decide(state, MEDIA, "m-1", record)
        assert draft.type == record.type
        assert draft.actor == "media:node"
        assert schema_problems(draft.type, draft.data) == []


@pytest.mark.parametrize("who", [SUP, Principal(Role.EXPERT, "s-1", "host-1")])
def test_only_the_media_service_logs_media(state: SessionState, who: Principal) -> None:
    with pytest.raises(CommandError) as caught:
        decide(state, who, "m-1", media_day()[0])
    assert caught.value.code is Code.FORBIDDEN


@pytest.mark.parametrize(
    ("record", "code"),
    [
        (
            MediaRecord("media.joined", {"member": "expert:x", "publishes": True}),
            "unknown_seat",
        ),
        (MediaRecord("media.joined", {"member": "admin:x", "publishes": True}), "malformed"),
        (MediaRecord("media.joined", {"member": H1}), "malformed"),
        (
            MediaRecord("media.state", {"member": H1, "conn": "p", "state": "odd"}),
            "malformed",
        ),
        (
            MediaRecord("media.muted", {"member": H1, "kind": "x", "muted": True}),
            "malformed",
        ),
        (
            MediaRecord("media.alert", {"member": H1, "kind": "audio", "dark_ms": 1.5}),
            "malformed",
        ),
        (MediaRecord("recording.closed", {**RECORDING, "sha256": "AB" * 32}), "malformed"),
        (MediaRecord("recording.closed", {**RECORDING, "file": "../x.mkv"}), "malformed"),
        (MediaRecord("recording.closed", {**RECORDING, "packets": -1}), "malformed"),
        (MediaRecord("recording.closed", {**RECORDING, "seat": "nobody"}), "unknown_seat"),
        (MediaRecord("recording.opened", {}), "unknown_command"),
    ],
)
def test_bad_media_facts_are_refused(state: SessionState, record: MediaRecord, code: str) -> None:
    with pytest.raises(CommandError) as caught:
        decide(state, MEDIA, "m-1", record)
    assert caught.value.code == code


def test_an_expert_sees_only_media_events_about_its_own_seat(state: SessionState) -> None:
    own, other = Viewer(Role.EXPERT, "host-1"), Viewer(Role.EXPERT, "host-2")
    for record in media_day():
        (draft,) = decide(state, MEDIA, "m-1", record)
        event = seal(draft, "s-1", state.seq + 1, 1_764_500_000_000)
        mine = record.data.get("member") in ("expert:host-1", None)
        assert (event_view(event, own, False)["type"] == "hidden") is not mine
        assert event_view(event, other, False)["type"] == "hidden"
        assert event_view(event, Viewer(Role.PUBLIC), False)["type"] == "hidden"
        assert event_view(event, Viewer(Role.SUPERVISOR), False)["data"] == record.data
