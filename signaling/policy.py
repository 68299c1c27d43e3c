"""Who sees and hears whom: the media routing policy of a session, as pure functions.

Only experts publish (camera and microphone). An expert hears every other member and sees the
other experts only when the lot allows it (some evaluation rules keep experts from seeing each
other, to limit collusion); supervisors receive everything; the auditor, the public screen and the
admin receive no live media at all (they follow the log, and recordings serve the audit).

Every function fails closed: an unknown role, an unknown kind or an expert without a seat
receives nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from server.domain.roles import Role

Kind = Literal["audio", "video"]
KINDS: tuple[Kind, ...] = ("audio", "video")

PUBLISHING_ROLES = frozenset({Role.EXPERT})
RECEIVING_ROLES = frozenset({Role.EXPERT, Role.SUPERVISOR})


@dataclass(frozen=True, slots=True)
class MediaPolicy:
    """The lot's media settings that the routing depends on."""

    experts_see_video: bool = True
    # False once the session is closed or sealed: the room takes no one any more.
    open: bool = True

    @classmethod
    def from_lot(cls, lot: Mapping[str, Any]) -> MediaPolicy:
        """Read ``lot["media"]``: absent settings take defaults, a wrong type raises ValueError."""
        media = lot.get("media", {})
        if not isinstance(media, Mapping):
            raise ValueError(f"lot 'media' must be an object, got {type(media).__name__}")
        see = media.get("experts_see_video", True)
        # A string "false" would be truthy: refuse anything but a JSON boolean.
        if not isinstance(see, bool):
            raise ValueError(
                f"lot media.experts_see_video must be true or false, got {see!r}",
            )
        return cls(experts_see_video=see)


def may_publish(role: Role) -> bool:
    """Whether a member of this role publishes camera and microphone (only experts do)."""
    return role in PUBLISHING_ROLES


def receives_any(role: Role) -> bool:
    """Whether a member of this role receives any live media (experts and supervisors)."""
    return role in RECEIVING_ROLES


def may_receive(
    role: Role,
    own_seat: str | None,
    source_seat: str,
    kind: Kind,
    policy: MediaPolicy,
) -> bool:
    """Whether a member (``role``, ``own_seat``) receives ``kind`` published by ``source_seat``."""
    if kind not in KINDS:
        return False
    if role is Role.SUPERVISOR:
        return True
    if role is not Role.EXPERT or own_seat is None:
        return False
    # An expert's own media would come back as an echo; their page shows a local preview instead.
    if source_seat == own_seat:
        return False
    if kind == "audio":
        return True
    return policy.experts_see_video


def wanted(
    role: Role,
    own_seat: str | None,
    sources: Iterable[tuple[str, Kind]],
    policy: MediaPolicy,
) -> frozenset[tuple[str, Kind]]:
    """The published ``(seat, kind)`` pairs among ``sources`` that this member receives."""
    return frozenset(
        (seat, kind) for seat, kind in sources if may_receive(role, own_seat, seat, kind, policy)
    )
