"""Time extension (条例 Art. 48): more than a third of the members say the time is short
(see :mod:`committee`)."""

from __future__ import annotations

from typing import Any

from server.domain.committee import check_member, text_of
from server.domain.errors import Code, CommandError
from server.domain.events import Draft
from server.domain.scoring import actor_of
from server.domain.state import SessionState


def check_time_request(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``time.request``: a member says the time is insufficient (条例 Art. 48)."""
    check_member(state, seat)
    com = state.committee
    if seat in com.time_requests:
        raise CommandError(
            Code.ALREADY_REQUESTED, f"{seat} already asked in round {com.time_round}"
        )
    data: dict[str, Any] = {"seat": seat, "round": com.time_round, **proof}
    reason = text_of(body, "reason", required=False)
    if reason is not None:
        data["reason"] = reason
    drafts = [Draft("time.requested", actor_of(seat), data)]
    requests = [*com.time_requests, seat]
    members = len(state.seats)
    if 3 * len(requests) > members:  # more than one third, exactly
        result = {"round": com.time_round, "requests": len(requests), "members": members}
        drafts.append(Draft("time.extended", "system", result))
    return drafts
