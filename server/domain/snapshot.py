"""Snapshots of a session state: ``state_to_json`` and its inverse, ``state_from_json``.

A snapshot lets a reader start from a stored state instead of folding the whole log; it is
canonical-safe JSON (lists for the small records, so a snapshot of a long session stays small).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from server.domain.lot import parse_lot
from server.domain.state import (
    BlindState,
    Cell,
    Clarification,
    Committee,
    Conduct,
    DrawState,
    Explanation,
    Misconduct,
    Pause,
    Phase,
    Proposal,
    Rating,
    Recusal,
    Replacement,
    ReportSignature,
    ReportState,
    Rollback,
    Seal,
    SeatState,
    SessionState,
)


def state_to_json(state: SessionState) -> dict[str, Any]:
    """A snapshot of the state, as canonical-safe JSON."""
    return {
        "session": state.session,
        "seq": state.seq,
        "phase": str(state.phase),
        "lot": dict(state.lot.raw),
        "seats": {
            s.seat: {
                "venue": s.venue,
                "key": s.key,
                "signed_in": s.signed_in,
                "sub": s.submitted,
                "reset": s.code_reset_ms,
                "sub_seq": s.submitted_seq,
                "enr_seq": s.enrolled_seq,
                "rev_seq": s.revoked_seq,
                "in_ms": s.signed_in_ms,
            }
            for s in state.seats.values()
        },
        "cells": {
            seat: {k: [c.value, c.comment, c.seq, c.code, c.first_ms] for k, c in cells.items()}
            for seat, cells in state.cells.items()
        },
        "blind": None
        if state.blind is None
        else {"seats": state.blind.to_json(), "revealed": state.blind.revealed},
        "committee": _committee_to_json(state.committee),
        "report": _report_to_json(state.report),
        "tokens": dict(state.token_generations),
        "phase_times": dict(state.phase_times),
        "paused": None
        if state.paused is None
        else [
            state.paused.reason,
            state.paused.since_ms,
            state.paused.seq,
            state.paused.fault,
            state.paused.referred_ms,
        ],
        "rollbacks": [
            [r.id, r.kind, list(r.seats), r.reason, r.by, r.seq, r.status]
            for r in state.rollbacks.values()
        ],
        "phase_seq": state.phase_seq,
        "inspection": {key: dict(flag) for key, flag in state.inspection.items()},
        "conduct": {
            "records": [
                [r.id, r.seat, r.category, r.note, r.evidence, r.by, r.seq]
                for r in state.conduct.records.values()
            ],
            "ratings": {
                seat: [r.rating, r.note, r.by, r.seq] for seat, r in state.conduct.ratings.items()
            },
        },
        "sealed": None
        if state.sealed is None
        else [state.sealed.cause, state.sealed.since_ms, state.sealed.seq],
        "draw": _record_to_json(state.draw),
        "recusals": [_record_to_json(r) for r in state.recusals.values()],
        "replacements": [_record_to_json(r) for r in state.replacements],
        "clarifications": [_record_to_json(c) for c in state.clarifications.values()],
        "media_alerts": [dict(a) for a in state.media_alerts],
        "fees": state.fees,
    }


_Record = TypeVar("_Record")


def _record_to_json(record: Any) -> dict[str, Any] | None:
    """A flat record of JSON values (tuples become lists): generated from its dataclass fields,
    so a field added to the record needs no edit here."""
    if record is None:
        return None
    return {
        f.name: list(v) if isinstance(v := getattr(record, f.name), tuple) else v
        for f in dataclasses.fields(record)
    }


def _record_from_json(cls: type[_Record], obj: dict[str, Any]) -> _Record:
    """The inverse of :func:`_record_to_json`: lists back to tuples where the field is one."""
    values = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in obj:
            value = obj[f.name]
            is_tuple = str(f.type).startswith("tuple")
            values[f.name] = tuple(value) if is_tuple and isinstance(value, list) else value
    return cls(**values)


def _report_to_json(report: ReportState | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "hash": report.hash,
        "content": report.content,
        "bytes": report.bytes,
        "font": report.font,
        "seq": report.seq,
        "signatures": {
            seat: [s.dissent, s.signed, s.sig, s.seq, s.time_ms]
            for seat, s in report.signatures.items()
        },
    }


def _report_from_json(obj: dict[str, Any] | None) -> ReportState | None:
    if obj is None:
        return None
    signatures = {seat: ReportSignature(*s) for seat, s in obj["signatures"].items()}
    return ReportState(
        obj["hash"], obj["content"], obj["bytes"], obj["font"], obj["seq"], signatures
    )


def _committee_to_json(com: Committee) -> dict[str, Any]:
    return {
        "chair": com.chair,
        "chair_round": com.chair_round,
        "chair_votes": dict(com.chair_votes),
        "proposals": {
            p.id: {
                "seat": p.seat,
                "bidder": p.bidder,
                "ground": p.ground,
                "reason": p.reason,
                "seq": p.seq,
                "status": p.status,
                "votes": dict(p.votes),
            }
            for p in com.proposals.values()
        },
        "time_round": com.time_round,
        "time_requests": list(com.time_requests),
        "extensions": com.extensions,
        "explanations": [
            [e.seat, e.bidder, e.code, e.criterion, e.text, e.seq] for e in com.explanations
        ],
    }


def _committee_from_json(obj: dict[str, Any]) -> Committee:
    return Committee(
        chair=obj["chair"],
        chair_round=obj["chair_round"],
        chair_votes=dict(obj["chair_votes"]),
        proposals={
            pid: Proposal(
                pid,
                p["seat"],
                p["bidder"],
                p["ground"],
                p["reason"],
                p["seq"],
                p["status"],
                dict(p["votes"]),
            )
            for pid, p in obj["proposals"].items()
        },
        time_round=obj["time_round"],
        time_requests=list(obj["time_requests"]),
        extensions=obj["extensions"],
        explanations=[Explanation(*e) for e in obj["explanations"]],
    )


def state_from_json(obj: dict[str, Any]) -> SessionState:
    """Rebuild a state from :func:`state_to_json`."""
    return SessionState(
        session=obj["session"],
        lot=parse_lot(obj["lot"]),
        seq=obj["seq"],
        phase=Phase(obj["phase"]),
        seats={
            seat: SeatState(
                seat,
                s["venue"],
                s["key"],
                s["signed_in"],
                s["sub"],
                s.get("reset", 0),
                s.get("sub_seq", 0),
                s.get("enr_seq", 0),
                s.get("rev_seq", 0),
                s.get("in_ms", 0),
            )
            for seat, s in obj["seats"].items()
        },
        cells={
            seat: {k: Cell(*v) for k, v in cells.items()} for seat, cells in obj["cells"].items()
        },
        blind=_blind_from_json(obj.get("blind")),
        committee=_committee_from_json(obj["committee"]) if "committee" in obj else Committee(),
        report=_report_from_json(obj.get("report")),
        token_generations=dict(obj.get("tokens", {})),
        phase_times=dict(obj.get("phase_times", {})),
        paused=Pause(*obj["paused"]) if obj.get("paused") else None,
        sealed=Seal(*obj["sealed"]) if obj.get("sealed") else None,
        rollbacks={
            r[0]: Rollback(r[0], r[1], tuple(r[2]), r[3], r[4], r[5], r[6])
            for r in obj.get("rollbacks", [])
        },
        phase_seq=obj.get("phase_seq", 0),
        inspection={key: dict(flag) for key, flag in obj.get("inspection", {}).items()},
        conduct=_conduct_from_json(obj.get("conduct")),
        draw=None if obj.get("draw") is None else _record_from_json(DrawState, obj["draw"]),
        recusals={r["id"]: _record_from_json(Recusal, r) for r in obj.get("recusals", [])},
        replacements=[_record_from_json(Replacement, r) for r in obj.get("replacements", [])],
        clarifications={
            c["id"]: _record_from_json(Clarification, c) for c in obj.get("clarifications", [])
        },
        media_alerts=[dict(a) for a in obj.get("media_alerts", [])],
        fees=obj.get("fees"),
    )


def _conduct_from_json(obj: dict[str, Any] | None) -> Conduct:
    if obj is None:
        return Conduct()
    records = {
        r[0]: Misconduct(r[0], r[1], r[2], r[3], dict(r[4]), r[5], r[6]) for r in obj["records"]
    }
    ratings = {seat: Rating(*r) for seat, r in obj["ratings"].items()}
    return Conduct(records, ratings)


def _blind_from_json(obj: dict[str, Any] | None) -> BlindState | None:
    if obj is None:
        return None
    pairs = {seat: [(c, b) for c, b in codes] for seat, codes in obj["seats"].items()}
    return BlindState(pairs, obj["revealed"])
