"""Archive check of the expert draw: every round's commitments and reveals, the seed, and the
committee recomputed from the pool the archive carries (``draw/<sha256>.json``).

For each ``draw.opened`` a round starts over; a commitment comes from a participant the round
names, once; a reveal only after every commitment, matching its own; ``draw.made`` only with
every share revealed, its seed the one :func:`server.domain.draw.seed_of` derives, and its
members and reserves what :func:`server.domain.draw.select` draws from the pool, the rules and
that seed (identity commitments included). A pool that is missing, or whose bytes do not hash
to the logged hash, means the draw cannot be recomputed: a problem. Pure: no IO (the caller
reads the pool file).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server.auditlog.verify import Report
from server.domain.draw import outcome_json, parse_pool, parse_rules, seed_of, select
from server.domain.draw import share_commitment as commitment_of
from server.domain.errors import CommandError

DRAW_DIR = "draw/"


def pool_path(pool_hash: str) -> str:
    return f"{DRAW_DIR}{pool_hash}.json"


@dataclass
class _Round:
    seq: int
    data: dict[str, Any]
    commitments: dict[str, str] = field(default_factory=dict)
    shares: dict[str, str] = field(default_factory=dict)


def check_draw(
    session: Any,
    created: dict[str, Any] | None,
    events: list[tuple[int, str, dict[str, Any]]],
    read: Callable[[str], bytes | None],
    report: Report,
) -> None:
    """``events`` are the log's ``draw.*`` events as (seq, type, data); ``read`` a member."""
    current: _Round | None = None
    for seq, kind, data in events:
        item = f"seq {seq}"
        if kind == "draw.opened":
            current = _Round(seq, data)
            continue
        if current is None:
            report.add("draw", item, f"{kind} without a draw.opened before it")
            continue
        if kind == "draw.made":
            _made(session, created, current, seq, data, read, report)
            current = None
        else:
            _share(session, current, item, kind, data, report)


def _share(
    session: Any, current: _Round, item: str, kind: str, data: dict[str, Any], report: Report
) -> None:
    who = str(data.get("participant"))
    participants = current.data.get("participants", [])
    if who not in participants:
        report.add("draw", item, f"{who!r} is not a participant of the draw at seq {current.seq}")
    elif kind == "draw.committed":
        if who in current.commitments:
            report.add("draw", item, f"{who} committed twice")
        current.commitments[who] = str(data.get("commitment"))
    elif set(current.commitments) != set(participants):
        report.add("draw", item, f"{who} revealed before every participant had committed")
    elif commitment_of(str(session), who, str(data.get("share"))) != current.commitments[who]:
        report.add("draw", item, f"the share {who} revealed is not the one it committed to")
    else:
        current.shares[who] = str(data.get("share"))


def _made(
    session: Any,
    created: dict[str, Any] | None,
    current: _Round,
    seq: int,
    data: dict[str, Any],
    read: Callable[[str], bytes | None],
    report: Report,
) -> None:
    item = f"seq {seq}"
    opened = current.data
    participants = list(opened.get("participants", []))
    missing = [p for p in participants if p not in current.shares]
    if missing:
        report.add("draw", item, f"made without the shares of {', '.join(map(str, missing))}")
        return
    shares = {p: current.shares[p] for p in participants}
    seed = seed_of(str(session), str(opened.get("pool")), opened.get("rules", {}), shares)
    if data.get("seed") != seed:
        report.add("draw", item, "the seed is not the one the revealed shares give")
        return
    path = pool_path(str(opened.get("pool")))
    raw = read(path)
    if raw is None:
        report.add("draw", path, "the pool is missing: the draw is not recomputed")
        return
    try:
        pool = parse_pool(json.loads(raw))
        if pool.raw != raw:
            raise ValueError("the file is not the pool's canonical bytes")
        lot = (created or {}).get("lot", {})
        seats = tuple((created or {}).get("seats", []))
        bidders = tuple(b.get("name") for b in lot.get("bidders", []))
        rules = parse_rules(opened.get("rules"), len(seats), bidders)
        outcome = outcome_json(select(pool, rules, bytes.fromhex(seed), seats), seed)
    except (CommandError, ValueError) as exc:
        report.add("draw", path, f"cannot be recomputed: {exc}")
        return
    if pool.hash != opened.get("pool"):
        report.add("draw", pool_path(pool.hash), "the pool's SHA-256 is not the logged one")
    elif outcome != {"members": data.get("members"), "reserves": data.get("reserves")}:
        report.add("draw", item, "the committee is not the one the pool, rules and seed draw")
    else:
        report.count("draws recomputed")
