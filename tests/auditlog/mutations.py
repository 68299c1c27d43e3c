"""Random mutations of a session archive, each with the items a verifier must name.

Shared by ``tests/auditlog/test_mutations.py`` (a CI-sized run) and ``bench/archive_mutations.py``
(a thousand). The attacker here holds the archive and no key: it flips, deletes, reorders and
swaps, and in the strongest case cuts the log back to an earlier checkpoint and has the
project's own writer rewrite every unsigned file to match. The one manifest field nothing signs
(``created_ms``, informational) is never the only change.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.auditlog.archive_write import Recording, write_archive
from server.auditlog.canonical import canonical_bytes

MANIFEST, EVENTS, LEAVES = "manifest.json", "events.jsonl", "leaves.txt"


@dataclass(frozen=True)
class Mutation:
    """A mutated archive's members, what was done, and the names a verdict must mention."""

    kind: str
    members: dict[str, bytes]
    names: tuple[str, ...]


def rezip(members: dict[str, bytes]) -> bytes:
    """A zip with exactly these members, in this order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def members_of(data: bytes) -> dict[str, bytes]:
    """Every member of a zip by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def events_of(members: dict[str, bytes]) -> list[bytes]:
    """The event lines of an archive."""
    return members[EVENTS].split(b"\n")[:-1]


def with_log(members: dict[str, bytes], events: list[bytes]) -> dict[str, bytes]:
    """``events`` in place of the log, with leaves.txt and the manifest rewritten to match."""
    out = dict(members)
    out[EVENTS] = b"".join(e + b"\n" for e in events)
    out[LEAVES] = "".join(hashlib.sha256(b"\x00" + e).hexdigest() + "\n" for e in events).encode()
    manifest = json.loads(out[MANIFEST])
    manifest["events"] = len(events)
    return refresh_manifest(out, manifest)


def refresh_manifest(
    members: dict[str, bytes], manifest: dict[str, Any] | None = None
) -> dict[str, bytes]:
    """The manifest's file hashes recomputed, so only signed data can tell."""
    manifest = manifest if manifest is not None else json.loads(members[MANIFEST])
    manifest["files"] = {
        name: hashlib.sha256(data).hexdigest()
        for name, data in sorted(members.items())
        if name != MANIFEST
    }
    return {**members, MANIFEST: canonical_bytes(manifest)}


def truncated(members: dict[str, bytes], size: int) -> dict[str, bytes]:
    """The archive cut back to checkpoint ``size``, every unsigned file rewritten by the writer."""
    manifest = json.loads(members[MANIFEST])
    notes = [
        data.decode()
        for name, data in sorted(members.items())
        if name.startswith("checkpoints/") and int(name[12:24]) <= size
    ]
    buffer = io.BytesIO()
    write_archive(
        buffer,
        session=manifest["session"],
        origin=manifest["origin"],
        node_key=manifest["node_key"],
        witness_keys=manifest["witness_keys"],
        events=iter(events_of(members)[:size]),
        notes=notes,
        created_ms=manifest["created_ms"],
        recordings=[
            Recording(name[len("recordings/") :], data)
            for name, data in members.items()
            if name.startswith("recordings/") and name != "recordings/manifest.json"
        ],
        report_files=[
            (name[len("report/") :], data)
            for name, data in members.items()
            if name.startswith("report/") and name != "report/report.json"
        ],
    )
    return members_of(buffer.getvalue())


def checkpoint_sizes(members: dict[str, bytes]) -> list[int]:
    """The sizes of the archive's checkpoints, smallest first."""
    return sorted(int(n[12:24]) for n in members if n.startswith("checkpoints/"))


def _flip(rng: random.Random, members: dict[str, bytes]) -> Mutation:
    name = rng.choice(sorted(members))
    data = bytearray(members[name])
    if not data:
        return _delete(rng, members)
    at = rng.randrange(len(data))
    data[at] ^= rng.randrange(1, 256)
    out = {**members, name: bytes(data)}
    if name == MANIFEST and _only_created_ms(members[MANIFEST], out[MANIFEST]):
        return _flip(rng, members)  # the one informational field: never the only change
    return Mutation(f"flip a byte of {name}", out, (name,))


def _only_created_ms(before: bytes, after: bytes) -> bool:
    try:
        old, new = json.loads(before), json.loads(after)
    except ValueError:
        return False
    if not isinstance(new, dict) or canonical_bytes(new) != after:
        return False
    old.pop("created_ms", None)
    new.pop("created_ms", None)
    return bool(old == new)


def _delete(rng: random.Random, members: dict[str, bytes]) -> Mutation:
    name = rng.choice(sorted(members))
    out = {k: v for k, v in members.items() if k != name}
    return Mutation(f"delete {name}", out, (name,))


def _cut(rng: random.Random, members: dict[str, bytes]) -> Mutation:
    sizes = checkpoint_sizes(members)
    earlier = sizes[:-1] or sizes
    size = rng.choice(earlier)
    out = truncated(members, size)
    return Mutation(f"truncate to checkpoint {size}, rewritten", out, (EVENTS,))


def _cut_lines(rng: random.Random, members: dict[str, bytes]) -> Mutation:
    events = events_of(members)
    keep = rng.randrange(1, len(events))
    out = with_log(members, events[:keep])
    return Mutation(f"drop events after seq {keep}", out, (EVENTS, LEAVES, "checkpoints/"))


def _reorder(rng: random.Random, members: dict[str, bytes]) -> Mutation:
    events = events_of(members)
    i, j = sorted(rng.sample(range(len(events)), 2))
    events[i], events[j] = events[j], events[i]
    out = with_log(members, events)
    return Mutation(f"swap events {i + 1} and {j + 1}", out, (f"seq {i + 1}",))


def _swap_signatures(rng: random.Random, members: dict[str, bytes]) -> Mutation:
    events = events_of(members)
    signed = [n for n, e in enumerate(events) if b'"sig":' in e]
    i, j = sorted(rng.sample(signed, 2))
    a, b = json.loads(events[i]), json.loads(events[j])
    if a["data"]["sig"] == b["data"]["sig"]:
        return _reorder(rng, members)
    a["data"]["sig"], b["data"]["sig"] = b["data"]["sig"], a["data"]["sig"]
    events[i], events[j] = canonical_bytes(a), canonical_bytes(b)
    out = with_log(members, events)
    return Mutation(f"swap signatures of seq {i + 1} and {j + 1}", out, (f"seq {i + 1}",))


def _drop_listed_signature(rng: random.Random, members: dict[str, bytes]) -> Mutation:
    name = "report/report.json"
    listing = json.loads(members.get(name, b"{}"))
    if not listing.get("signatures"):
        return _swap_signatures(rng, members)
    del listing["signatures"][rng.choice(sorted(listing["signatures"]))]
    out = refresh_manifest({**members, name: canonical_bytes(listing)})
    return Mutation("remove a signature from report/report.json", out, (name,))


def _slip_in(rng: random.Random, members: dict[str, bytes]) -> Mutation:
    name = rng.choice(["recordings/seat-x.webm", "report/report.pdf", "notes.txt"])
    out = refresh_manifest({**members, name: bytes(rng.randrange(256) for _ in range(32))})
    return Mutation(f"add {name}", out, (name,))


def _drop_expert_event(rng: random.Random, members: dict[str, bytes]) -> Mutation:
    """Strip an expert's signature from an event (the signed command gone from the archive)."""
    events = events_of(members)
    signed = [n for n, e in enumerate(events) if b'"sig":' in e]
    i = rng.choice(signed)
    body = json.loads(events[i])
    body["data"].pop("sig")
    body["data"].pop("signed")
    events[i] = canonical_bytes(body)
    out = with_log(members, events)
    return Mutation(f"strip the signature of seq {i + 1}", out, (f"seq {i + 1}",))


MUTATORS: list[tuple[int, Callable[[random.Random, dict[str, bytes]], Mutation]]] = [
    (40, _flip),
    (8, _delete),
    (14, _cut),
    (8, _cut_lines),
    (8, _reorder),
    (8, _swap_signatures),
    (5, _drop_listed_signature),
    (5, _slip_in),
    (4, _drop_expert_event),
]


def mutate(rng: random.Random, members: dict[str, bytes]) -> Mutation:
    """One random mutation of ``members`` (never the original bytes)."""
    weights = [w for w, _ in MUTATORS]
    mutator = rng.choices([m for _, m in MUTATORS], weights)[0]
    mutation = mutator(rng, members)
    return mutation if mutation.members != members else mutate(rng, members)
