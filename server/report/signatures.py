"""Members' signatures over the report hash: signed, signed with a dissent, or neither.

Each member signs the SHA-256 of the unsigned PDF (see :mod:`server.report`) from their seat;
the signature and the signed bytes are events in the log, and this module only carries them
into the archived rendering. A member with no entry is shown as having neither signed nor
dissented, never left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.report.model import ReportContent, need, unique_ids

SIGN_STATUSES = ("signed", "dissent", "none")


@dataclass(frozen=True)
class MemberSignature:
    """How one member dealt with the report.

    ``status`` is ``signed``, ``dissent`` (signed with a written 保留意见 in ``dissent``) or
    ``none`` (neither signed nor dissented; every other field empty). For the first two,
    ``report_sha256`` is the hex hash signed, ``signature`` the seat's signature (base64) over
    the signed payload, ``signed_at`` ISO-8601.
    """

    seat_id: str
    status: str
    report_sha256: str = ""
    signature: str = ""
    signed_at: str = ""
    dissent: str = ""

    def __post_init__(self) -> None:
        need(self.status in SIGN_STATUSES, f"signature {self.seat_id}: bad status")
        if self.status == "none":
            empty = not (self.report_sha256 or self.signature or self.signed_at or self.dissent)
            need(empty, f"signature {self.seat_id}: unsigned entry carries signature fields")
            return
        need(_is_sha256_hex(self.report_sha256), f"signature {self.seat_id}: bad report_sha256")
        need(bool(self.signature and self.signed_at), f"signature {self.seat_id}: incomplete")
        has_dissent = bool(self.dissent.strip())
        need(has_dissent == (self.status == "dissent"), f"signature {self.seat_id}: dissent")


def _is_sha256_hex(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def signature_block(
    content: ReportContent, report_sha256: str, entries: tuple[MemberSignature, ...]
) -> tuple[MemberSignature, ...]:
    """One entry per member in committee order; a member without an entry is ``none``.

    Refuses entries for unknown seats, duplicates, and signatures over another hash.
    """
    need(_is_sha256_hex(report_sha256), "report_sha256 must be 64 lowercase hex digits")
    by_seat = {e.seat_id: e for e in entries}
    unique_ids("signatures", [e.seat_id for e in entries])
    unknown = sorted(set(by_seat) - {m.seat_id for m in content.committee})
    need(not unknown, f"signatures: seats not in committee: {', '.join(unknown)}")
    for e in entries:
        need(e.status == "none" or e.report_sha256 == report_sha256, f"{e.seat_id}: other hash")
    return tuple(
        by_seat.get(m.seat_id, MemberSignature(m.seat_id, "none")) for m in content.committee
    )
