"""Who acts: roles and the principal a token stands for."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from server.domain.errors import Code, CommandError


class Role(StrEnum):
    """Roles of a session. The chair is an expert seat with extra duties, not a separate login."""

    EXPERT = "expert"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    PUBLIC = "public"
    # A venue's staff (主场 or 副场) for the expert draw: they hold the venue's random share
    # (server/domain/draw_session.py) and otherwise see what the public screen sees.
    VENUE = "venue"
    ADMIN = "admin"
    # A bidder answering one clarification (server/domain/clarification.py): its token opens
    # that clarification only, no socket and no view.
    BIDDER = "bidder"
    # The node's own media service: it logs media facts (joins, states, recordings). No token
    # ever stands for it (``TokenMinter.check`` refuses it).
    MEDIA = "media"
    # The node itself: its timers (the fault rule's deadlines) and the seal after the close. No
    # token stands for it either.
    NODE = "node"


# Principals of the node's own services, never behind a token.
INTERNAL_ROLES = frozenset({Role.MEDIA, Role.NODE})


# Roles that see what the waiting-area screen sees: progress, never names or scores.
PUBLIC_VIEW_ROLES = frozenset({Role.PUBLIC, Role.VENUE})


# Roles that see every event in full, live.
FULL_VIEW_ROLES = frozenset({Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated actor: one role, one session and, for an expert, one seat."""

    role: Role
    session: str
    subject: str  # the seat id for an expert, a name (e.g. "sup-1") otherwise

    @property
    def actor(self) -> str:
        """The actor as written into events, e.g. ``expert:host-1``."""
        return f"{self.role}:{self.subject}"

    @property
    def seat(self) -> str | None:
        """The seat of an expert, None for every other role."""
        return self.subject if self.role is Role.EXPERT else None


def require(principal: Principal, role: Role, only: str) -> None:
    """Refuse with ``forbidden`` unless ``principal`` has ``role``; ``only`` says who may, e.g.
    "only a supervisor pauses the evaluation"."""
    if principal.role is not role:
        raise CommandError(Code.FORBIDDEN, only)
