"""The archive verifier: every check an auditor needs, reported item by item, never a traceback.

Why one streaming pass: a session can hold a million events, so ``events.jsonl`` and
``leaves.txt`` are read together in batches, hashed, folded into the Merkle tree and checked as
they go; only the roots at checkpoint sizes and the few perfect subtree hashes that the
consistency proofs between consecutive checkpoints need are kept (chosen in advance by a dry run
of :func:`consistency_proof_from`, since the checkpoint sizes are known before the events are
read). Expert signatures are checked in the same pass with the seat key in force at that seq.

Everything here is pure over bytes already read; :func:`server.auditlog.archive.verify_archive`
reads the zip and calls these checks in order.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from server.auditlog.canonical import MAX_SAFE_INTEGER, CanonicalError, parse_canonical
from server.auditlog.merkle import SubtreeHash, compact_root, consistency_proof_from
from server.auditlog.note import (
    NoteError,
    b64decode_canonical,
)
from server.auditlog.subtrees import needed_subtrees as subtrees_of_proof

KINDS = (
    "file",
    "event",
    "checkpoint",
    "signature",
    "key",
    "recording",
    "report",
    "closure",
    "draw",
    "archive",
)
MAX_PER_KIND = 50  # one inserted event shifts every later seq; list the first few, count the rest
MANIFEST_KEYS = {"format", "session", "origin", "node_key", "witness_keys", "events"}
MANIFEST_KEYS |= {"created_ms", "files"}
EVENT_KEYS = {"v", "session", "seq", "t", "type", "actor", "data"}
BATCH = 1 << 20
# Fields an event copies verbatim from what the expert signed (the domain's signed handlers).
BOUND_FIELDS = (
    "bidder",
    "code",
    "criterion",
    "value",
    "comment",
    "pledge",
    "text",
    "candidate",
    "ground",
    "reason",
    "vote",
    "report",
    "dissent",
    "question",
)
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Problem:
    """One failing item: its kind (see ``KINDS``), which item, and what is wrong."""

    kind: str
    item: str
    message: str


@dataclass
class Report:
    """Everything that failed, and how many of each thing were checked."""

    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    omitted: dict[str, int] = field(default_factory=dict)
    listed: dict[str, int] = field(default_factory=dict)
    statements: list[str] = field(default_factory=list)  # what the archive proves, in words

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems and not self.omitted

    def add(self, kind: str, item: str, message: str) -> None:
        """Record a problem; past ``MAX_PER_KIND`` of a kind only count it."""
        if self.listed.get(kind, 0) >= MAX_PER_KIND:
            self.omitted[kind] = self.omitted.get(kind, 0) + 1
        else:
            self.listed[kind] = self.listed.get(kind, 0) + 1
            self.problems.append(Problem(kind, item, message))

    def count(self, what: str, n: int = 1) -> None:
        """Count ``n`` checked items of ``what``."""
        self.counts[what] = self.counts.get(what, 0) + n


def _refuse(text: str) -> Any:
    raise CanonicalError(f"{text} is not allowed in canonical JSON")


def _safe_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise CanonicalError(f"integer {text} outside ±(2**53 - 1)")
    return value


# Built once: passing hooks to json.loads builds a new decoder per call, which costs more than
# the parse itself on a 150-byte signed payload.
_DECODER = json.JSONDecoder(parse_float=_refuse, parse_int=_safe_int, parse_constant=_refuse)
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
)


def fast_canonical(raw: bytes) -> Any:
    """Same verdict as ``parse_canonical`` at a third of the cost on ASCII input.

    Why it is equivalent: a duplicate key or any escape or whitespace the canonical form would not
    use makes the re-serialization differ from ``raw``; floats, constants and integers beyond
    ±(2**53 - 1) are refused by the parse hooks. Non-ASCII input takes the reference path.
    """
    if not raw.isascii():
        return parse_canonical(raw)
    try:
        value = _DECODER.decode(raw.decode("ascii"))
        same = _ENCODER.encode(value).encode("utf-8") == raw
    except CanonicalError:
        raise
    except (ValueError, RecursionError, UnicodeEncodeError) as exc:
        raise CanonicalError(f"not JSON: {exc}") from exc
    if not same:
        raise CanonicalError("JSON is not in canonical form")
    return value


def check_signed(
    session: Any, kind: Any, data: dict[str, Any], keys: dict[str, Ed25519PublicKey]
) -> str:
    """Check an expert signature inside an event's ``data``; return what is wrong or ``""``.

    ``keys`` maps each seat to the key its latest earlier enrolment recorded. Besides the
    signature, the event must say what the expert signed: the same command noun and the same
    value for every signed field it repeats, so the server cannot show a score the expert did not
    give. Fields the server adds (proposal ids, rounds, counts) are not compared.
    """
    signed, sig_text, seat = data.get("signed"), data.get("sig"), data.get("seat")
    if not isinstance(signed, str) or not isinstance(sig_text, str):
        return "'signed' and 'sig' must be strings"
    key = keys.get(seat) if isinstance(seat, str) else None
    if key is None:
        return f"seat {seat!r} has no enrolled key before this event"
    try:
        raw = signed.encode("utf-8")
        payload = fast_canonical(raw)
        sig = b64decode_canonical(sig_text, "signature")
    except (CanonicalError, NoteError, UnicodeEncodeError) as exc:
        return f"signed payload or signature is malformed: {exc}"
    if not isinstance(payload, dict) or payload.get("session") != session:
        return "signed payload names another session"
    if payload.get("seat") != seat:
        return "signed payload names another seat"
    command = payload.get("type")
    # score.set -> score.set, sheet.submit -> sheet.submitted, chair.vote -> chair.voted: the
    # event always keeps the command's noun.
    if not isinstance(command, str) or command.split(".")[0] != str(kind).split(".")[0]:
        return f"signed command {command!r} does not produce a {kind!r} event"
    for name in BOUND_FIELDS:
        if name in data and name in payload and data[name] != payload[name]:
            return f"event {name} differs from the signed {name}"
    try:
        key.verify(sig, raw)
    except InvalidSignature:
        return f"signature does not verify with the key of {seat}"
    return ""


def load_seat_key(text: Any) -> Ed25519PublicKey:
    """An enrolled seat key; raises ValueError when unusable.

    The server's ``seat.enrolled`` stores ``{"scheme": "ed25519", "public": base64 raw key}``
    (room for other schemes later); a bare base64 string is accepted too.
    """
    if isinstance(text, dict):
        if text.get("scheme") != "ed25519":
            raise ValueError(f"key scheme {text.get('scheme')!r} is not ed25519")
        text = text.get("public")
    if not isinstance(text, str):
        raise ValueError("key must be a base64 string")
    try:
        raw = b64decode_canonical(text, "key")
    except NoteError as exc:
        raise ValueError(str(exc)) from exc
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 key is 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def needed_subtrees(sizes: list[int]) -> set[tuple[int, int]]:
    """The perfect subtrees ``(start, end)`` that consistency proofs between consecutive
    ``sizes`` will ask for (a dry run of each proof, see :mod:`server.auditlog.subtrees`)."""
    wanted: set[tuple[int, int]] = set()
    for size1, size2 in itertools.pairwise(sorted(set(sizes))):
        if size1 > 0:
            proof = functools.partial(_consistency, size1=size1, size2=size2)
            keys = subtrees_of_proof(proof)
            wanted.update((index << level, (index + 1) << level) for level, index in keys)
    return wanted


def _consistency(subtree_hash: SubtreeHash, size1: int, size2: int) -> list[bytes]:
    return consistency_proof_from(subtree_hash, size1, size2)


class LogWalk:
    """One streaming pass over ``events.jsonl`` and ``leaves.txt``.

    With ``semantics=False`` only hashes, leaf lines and the tree are checked (the benchmark's
    "hashes + tree" figure); otherwise every event is parsed, seq and session are checked,
    enrolments are tracked and expert signatures verified.
    """

    def __init__(
        self,
        report: Report,
        session: Any,
        sizes: list[int],
        *,
        semantics: bool = True,
        progress: Progress | None = None,
        total: int = 0,
    ) -> None:
        """Prepare a walk that records the roots at ``sizes`` and the subtrees they need."""
        self.report, self.session, self.semantics = report, session, semantics
        self.progress, self.total = progress, total
        self.sizes = set(sizes)
        self.roots: dict[int, bytes] = {}
        self.subtrees: dict[tuple[int, int], bytes] = {}
        self.wanted: dict[int, set[int]] = {}
        for start, end in needed_subtrees(sizes):
            self.wanted.setdefault(end, set()).add(end - start)
        self.count = 0
        self._stack: list[bytes] = []
        self.last_time: Any = None
        self.enrolments: list[dict[str, Any]] = []
        self.reports: list[tuple[int, Any, Any]] = []  # report.issued: seq, PDF hash, content hash
        self.recordings: list[tuple[int, dict[str, Any]]] = []  # recording.closed: seq, data
        self.report_signatures: list[tuple[int, dict[str, Any]]] = []  # report.signed: seq, data
        # phase.changed (and phase.rolled_back, flagged True): seq, from, to, rolled back
        self.phases: list[tuple[int, Any, Any, bool]] = []
        self.closed_at: int | None = None  # seq of the phase.changed to closed
        self.after_close: list[tuple[int, Any, Any]] = []  # seq, type, actor of later events
        self.seals: list[tuple[int, Any, Any]] = []  # session.sealed: seq, cause, actor
        self.keys: dict[str, Ed25519PublicKey] = {}
        self.created: dict[str, Any] | None = None  # session.created's data (lot, seats)
        self.draws: list[tuple[int, str, dict[str, Any]]] = []  # draw.*: seq, type, data
        self.events_digest, self.leaves_digest = hashlib.sha256(), hashlib.sha256()

    def run(self, events: IO[bytes], leaves: IO[bytes]) -> None:
        """Read both members to the end, checking as it goes.

        Why batches: hashing a batch in a comprehension and comparing its leaf lines with one
        bytes comparison keeps the per-event Python work to the tree step, which is what makes a
        million events fit in seconds.
        """
        stack = self._stack
        sha, rest = hashlib.sha256, b""
        wanted, sizes, roots = self.wanted, self.sizes, self.roots
        while chunk := events.read(BATCH):
            self.events_digest.update(chunk)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            hashes = [sha(b"\x00" + raw).digest() for raw in lines]
            stored = leaves.read(65 * len(lines))
            self.leaves_digest.update(stored)
            if stored[64::65] != b"\n" * len(lines) or stored.replace(b"\n", b"") != (
                b"".join(hashes).hex().encode()
            ):
                self._compare_leaves(hashes, stored)
            count = self.count
            for leaf in hashes:
                size, count = count, count + 1
                if count in wanted:
                    node = self._capture(leaf, size)
                else:
                    node, carry = leaf, size
                    while carry & 1:
                        node = sha(b"\x01" + stack.pop() + node).digest()
                        carry >>= 1
                    stack.append(node)
                if count in sizes:
                    roots[count] = compact_root(stack)
            if self.semantics:
                for offset, raw in enumerate(lines):
                    self._event(self.count + offset + 1, raw, hashes[offset])
            self.count = count
            if self.progress is not None:
                self.progress(count, self.total)
        if rest:
            self.report.add("event", f"seq {self.count + 1}", "last line has no newline")
        tail = leaves.read()
        self.leaves_digest.update(tail)
        if tail:
            self.report.add("event", "leaves.txt", f"{len(tail)} bytes after the last event's leaf")

    def _compare_leaves(self, hashes: list[bytes], stored: bytes) -> None:
        for offset, leaf in enumerate(hashes):
            if stored[65 * offset : 65 * offset + 65] != leaf.hex().encode() + b"\n":
                seq = self.count + offset + 1
                self.report.add("event", f"seq {seq}", "leaf hash differs from leaves.txt")

    def _capture(self, leaf: bytes, size: int) -> bytes:
        """The tree step for a leaf that completes subtrees a consistency proof will need."""
        position, widths, stack = size + 1, self.wanted[size + 1], self._stack
        node, carry, width = leaf, size, 1
        if 1 in widths:
            self.subtrees[(size, position)] = node
        while carry & 1:
            node = hashlib.sha256(b"\x01" + stack.pop() + node).digest()
            carry >>= 1
            width <<= 1
            if width in widths:
                self.subtrees[(position - width, position)] = node
        stack.append(node)
        return node

    def _event(self, seq: int, raw: bytes, leaf: bytes) -> None:
        item = f"seq {seq}"
        try:
            body = fast_canonical(raw)
        except CanonicalError as exc:
            self.report.add("event", item, f"not canonical JSON: {exc}")
            return
        if not isinstance(body, dict) or body.keys() != EVENT_KEYS:
            self.report.add("event", item, "not an event object with v, session, seq, t, ...")
            return
        data = body["data"]
        if body["seq"] != seq or body["v"] != 1 or not isinstance(data, dict):
            self.report.add("event", item, f"line {seq} holds seq {body['seq']!r}, v {body['v']!r}")
            return
        if body["session"] != self.session:
            self.report.add("event", item, f"session {body['session']!r} is not manifest.json's")
        self.last_time = body["t"]
        kind, actor = body["type"], body["actor"]
        if self.closed_at is not None:
            self.after_close.append((seq, kind, actor))
        if kind == "seat.enrolled":
            self._enrolled(item, seq, data, leaf)
            return
        if kind == "report.issued":
            self.reports.append((seq, data.get("report"), data.get("content")))
        elif kind == "recording.closed":
            self.recordings.append((seq, data))
        elif kind == "report.signed":
            self.report_signatures.append((seq, data))
        elif kind in ("seat.key_revoked", "seat.replaced"):  # it signs nothing from here
            self.keys.pop(str(data.get("seat")), None)
        elif kind == "session.sealed":
            self.seals.append((seq, data.get("cause"), actor))
        elif kind == "session.created" and self.created is None:
            self.created = data
        elif isinstance(kind, str) and kind.startswith("draw."):
            self.draws.append((seq, kind, data))
        elif kind == "phase.rolled_back":
            self.phases.append((seq, data.get("from"), data.get("to"), True))
        elif kind == "phase.changed":
            self.phases.append((seq, data.get("from"), data.get("to"), False))
            if data.get("to") == "closed" and self.closed_at is None:
                self.closed_at = seq
        if "signed" in data or "sig" in data:
            self.report.count("expert signatures")
            problem = check_signed(self.session, kind, data, self.keys)
            if problem:
                self.report.add("signature", item, problem)
        elif isinstance(actor, str) and actor.startswith("expert:"):
            # An expert acts only through signed commands (enrolment aside): an expert's event
            # without the signature means the signed command is not in the archive.
            self.report.add("signature", item, f"{kind} by {actor} carries no expert signature")

    def _enrolled(self, item: str, seq: int, data: dict[str, Any], leaf: bytes) -> None:
        seat, key = data.get("seat"), data.get("key")
        self.enrolments.append({"seat": seat, "key": key, "seq": seq, "event_hash": leaf.hex()})
        try:
            self.keys[str(seat)] = load_seat_key(key)
        except ValueError as exc:
            self.keys.pop(str(seat), None)
            self.report.add("key", item, f"enrolled key of {seat!r} is unusable: {exc}")
