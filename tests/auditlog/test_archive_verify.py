"""A realistic session archive built with real Ed25519 keys verifies clean, end to end.

``build_session`` is shared with the tamper tests: a node key, a witness key, three seats that
enrol, sign in, score and submit, optionally an issued report two members sign, the close,
checkpoints every few events and at the end, and a recording logged after the close.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.app.verify_cli import main as verify_main
from server.auditlog.archive import verify_archive
from server.auditlog.archive_write import Recording, write_archive
from server.auditlog.canonical import CanonicalError, canonical_bytes, parse_canonical
from server.auditlog.merkle import root_from_leaves
from server.auditlog.note import (
    SIG_COSIGNATURE_V1,
    NoteSigner,
    add_signature_lines,
    checkpoint_body,
    cosign,
    open_note,
    sign_note,
)
from server.auditlog.verify import LogWalk, Report, fast_canonical
from server.auditlog.verify_closure import check_phases
from server.domain.events import Draft, seal

ROOT = Path(__file__).resolve().parents[2]
SESSION = "s-2026-001"
ORIGIN = "evalroom.example/s-2026-001"
T0 = 1_790_000_000_000


def fixed_key(name: str) -> Ed25519PrivateKey:
    """A deterministic key so failures reproduce."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(name.encode()).digest())


@dataclass
class Built:
    """What a test needs to know about the archive it built."""

    events: list[bytes]
    notes: list[str]
    node: NoteSigner
    witness: NoteSigner
    members: dict[str, bytes] = field(default_factory=dict)
    data: bytes = b""

    @property
    def node_key(self) -> str:
        return self.node.verifier_key()


RECORDING_BYTES = b"\x1aE\xdf\xa3 pretend webm" * 20
RECORDING_CLOSED = {
    "seat": "s1",
    "track": "video",
    "file": "seat-s1.webm",
    "sha256": hashlib.sha256(RECORDING_BYTES).hexdigest(),
    "size": len(RECORDING_BYTES),
}


class SessionLog:
    """Appends sealed events and signs checkpoints like the server and a witness would."""

    def __init__(self, node: NoteSigner, witness: NoteSigner) -> None:
        self.node, self.witness = node, witness
        self.events: list[bytes] = []
        self.notes: list[str] = []

    def append(self, kind: str, actor: str, data: dict[str, Any]) -> None:
        seq = len(self.events) + 1
        self.events.append(seal(Draft(kind, actor, data), SESSION, seq, T0 + 1000 * seq).raw)

    def checkpoint(self) -> None:
        leaves = [hashlib.sha256(b"\x00" + e).digest() for e in self.events]
        body = checkpoint_body(ORIGIN, len(leaves), root_from_leaves(leaves))
        note = sign_note(body, self.node)
        time_s = (T0 + 1000 * len(leaves)) // 1000 + 1
        self.notes.append(add_signature_lines(note, [cosign(body, self.witness, time_s)]))


def signed(seat: str, key: Ed25519PrivateKey, kind: str, cmd: int, **fields: Any) -> dict[str, str]:
    payload = {"type": kind, "session": SESSION, "seat": seat, "cmd": f"{seat}-{cmd}"}
    raw = canonical_bytes({**payload, "t": T0 + cmd, **fields})
    return {"signed": raw.decode(), "sig": base64.b64encode(key.sign(raw)).decode()}


REPORT_PDF = b"%PDF-1.4 the issued report"
REPORT_CONTENT = canonical_bytes({"ranking": []})
REPORT_HASH = hashlib.sha256(REPORT_PDF).hexdigest()
REPORT_FILES = [(f"{REPORT_HASH}.pdf", REPORT_PDF), (f"{REPORT_HASH}.json", REPORT_CONTENT)]


def report_steps(seats: dict[str, Ed25519PrivateKey]) -> list[tuple[str, str, dict[str, Any]]]:
    """The report issued in review, signed by s1 and signed with a dissent by s2."""
    issued = {
        "report": REPORT_HASH,
        "content": hashlib.sha256(REPORT_CONTENT).hexdigest(),
        "bytes": len(REPORT_PDF),
        "font": "d4" * 32,
    }
    steps: list[tuple[str, str, dict[str, Any]]] = [("report.issued", "supervisor", issued)]
    for seat, extra in (("s1", {}), ("s2", {"dissent": "保留意见"})):
        proof = signed(seat, seats[seat], "report.sign", 200, report=REPORT_HASH, **extra)
        data = {"seat": seat, "report": REPORT_HASH, **extra, **proof}
        steps.append(("report.signed", f"expert:{seat}", data))
    return steps


def session_log(
    scores_per_seat: int = 4, every: int = 4, report: bool = False, closed: bool = True
) -> SessionLog:
    """The events and checkpoint notes of a small but complete evaluation session."""
    log = SessionLog(
        NoteSigner(ORIGIN, fixed_key("node")), NoteSigner("witness.example/w1", fixed_key("w1"))
    )
    seats = {f"s{i}": fixed_key(f"seat{i}") for i in (1, 2, 3)}
    lot = {"id": "lot-1", "bidders": ["B1", "B2"], "criteria": ["tech", "price"]}
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("session.created", "supervisor", {"lot": lot, "seats": sorted(seats)})
    ]
    for seat, key in seats.items():
        raw_key = key.public_key().public_bytes_raw()
        key_record = {"scheme": "ed25519", "public": base64.b64encode(raw_key).decode()}
        steps.append(("seat.enrolled", f"expert:{seat}", {"seat": seat, "key": key_record}))
    steps.append(("phase.changed", "supervisor", {"from": "prepared", "to": "sign_in"}))
    for seat, key in seats.items():
        proof = signed(seat, key, "expert.sign_in", 1, pledge="evalroom-pledge-v1")
        steps.append(
            (
                "expert.signed_in",
                f"expert:{seat}",
                {"seat": seat, "pledge": "evalroom-pledge-v1", **proof},
            )
        )
    steps.append(("phase.changed", "supervisor", {"from": "sign_in", "to": "scoring"}))
    for n in range(scores_per_seat):
        for seat, key in seats.items():
            cell = {"bidder": f"B{n % 2 + 1}", "criterion": ["tech", "price"][n // 2 % 2]}
            value = f"{5 + n}.5"
            proof = signed(seat, key, "score.set", 10 + n, **cell, value=value)
            steps.append(
                ("score.set", f"expert:{seat}", {"seat": seat, **cell, "value": value, **proof})
            )
    for seat, key in seats.items():
        proof = signed(seat, key, "sheet.submit", 99)
        steps.append(("sheet.submitted", f"expert:{seat}", {"seat": seat, "cells": 4, **proof}))
    steps.append(("phase.changed", "supervisor", {"from": "scoring", "to": "review"}))
    if report:
        steps += report_steps(seats)
    if closed:
        steps.append(("phase.changed", "supervisor", {"from": "review", "to": "closed"}))
    steps.append(("recording.closed", "media:node", RECORDING_CLOSED))  # seats leave after it
    if closed:  # then the node seals it
        steps.append(("session.sealed", "node:timer", {"cause": "closed"}))
    for index, (kind, actor, data) in enumerate(steps, start=1):
        log.append(kind, actor, data)
        closes = kind == "phase.changed" and data["to"] == "closed"  # signed at once, as by a node
        if (index % every == 0 or closes) and index != len(steps):
            log.checkpoint()
    log.checkpoint()
    return log


def build_session(
    report: bool = False,
    scores_per_seat: int = 4,
    every: int = 4,
    recordings: list[Recording] | None = None,
    witness: bool = True,
    closed: bool = True,
) -> Built:
    """Write the archive of :func:`session_log` to memory and return it with its parts."""
    log = session_log(scores_per_seat, every, report, closed)
    buffer = io.BytesIO()
    write_archive(
        buffer,
        session=SESSION,
        origin=ORIGIN,
        node_key=log.node.verifier_key(),
        witness_keys=[log.witness.verifier_key(SIG_COSIGNATURE_V1)] if witness else [],
        events=iter(log.events),
        leaves=(hashlib.sha256(b"\x00" + e).digest() for e in log.events),
        notes=log.notes if witness else [sign_note(open_note(n)[0], log.node) for n in log.notes],
        recordings=[Recording("seat-s1.webm", RECORDING_BYTES)]
        if recordings is None
        else recordings,
        report_files=REPORT_FILES,
        created_ms=T0 + 10_000_000,
    )
    built = Built(log.events, log.notes, log.node, log.witness, data=buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(built.data)) as zf:
        built.members = {name: zf.read(name) for name in zf.namelist()}
    return built


def write(tmp_path: Path, data: bytes, name: str = "archive.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_clean_archive_verifies(tmp_path: Path) -> None:
    built = build_session(report=True)
    seen: list[tuple[int, int]] = []
    result = verify_archive(
        write(tmp_path, built.data), built.node_key, lambda d, t: seen.append((d, t))
    )
    assert result.problems == []
    assert result.ok
    n = len(built.events)
    assert result.counts["events"] == n
    assert result.counts["checkpoints"] == len(built.notes) == result.counts["node signatures"]
    assert result.counts["cosignatures"] == len(built.notes)
    assert result.counts["consistency proofs"] == len(built.notes) - 1
    assert result.counts["expert signatures"] == 3 + 3 * 4 + 3 + 2
    assert result.counts["keys"] == 3
    assert result.counts["recordings"] == 1
    assert result.counts["issued reports"] == 1
    assert result.counts["report signatures listed"] == 2
    assert result.counts["closes"] == result.counts["seals"] == 1
    assert result.statements == [
        f"session closed at seq {n - 2}, then 1 media or access events, sealed at seq {n}; "
        f"checkpoint {n} covers all {n} of {n}"
    ]
    assert seen[-1] == (n, n)
    assert "report/report.pdf" not in built.members  # the signed rendering's hash is in no event
    listing = json.loads(built.members["report/report.json"])
    assert sorted(listing["signatures"]) == ["s1", "s2"]
    assert listing["signatures"]["s2"]["dissent"] == "保留意见"


def test_an_archive_without_witnesses_verifies(tmp_path: Path) -> None:
    """A node with no witness configured exports checkpoints with its signature only."""
    built = build_session(report=True, witness=False)
    assert json.loads(built.members["manifest.json"])["witness_keys"] == []
    result = verify_archive(write(tmp_path, built.data), built.node_key)
    assert result.problems == []
    assert "cosignatures" not in result.counts
    assert result.counts["node signatures"] == len(built.notes)


@pytest.mark.parametrize(
    ("recordings", "problem"),
    [
        ([Recording("seat-s1.webm", b"another file")], "differs from its recording.closed"),
        ([], "logged at seq"),
    ],
    ids=["swapped", "missing"],
)
def test_recordings_are_bound_by_the_log(
    tmp_path: Path, recordings: list[Recording], problem: str
) -> None:
    """The signed ``recording.closed`` events are what a swapped or dropped file cannot match."""
    built = build_session(recordings=recordings)
    result = verify_archive(write(tmp_path, built.data), built.node_key)
    assert [p.kind for p in result.problems] == ["recording"]
    assert problem in result.problems[0].message


def test_the_writer_leaves_out_what_the_log_does_not_name(tmp_path: Path) -> None:
    """A recording never logged and a report never issued stay out; slipped in, they are named."""
    extra = Recording("seat-s9.webm", b"never logged")
    built = build_session(recordings=[Recording("seat-s1.webm", RECORDING_BYTES), extra])
    assert "recordings/seat-s9.webm" not in built.members
    assert not any(name.startswith("report/") for name in built.members)  # nothing issued
    assert verify_archive(write(tmp_path, built.data), built.node_key).ok
    slipped = {
        "recordings/seat-s9.webm": ("recording", "the log does not name"),
        f"report/{REPORT_HASH}.pdf": ("report", "no report.issued names"),
        "report/report.pdf": ("report", "in no event"),
        "notes.txt": ("file", "not bound to the signed log"),
    }
    for name, (kind, message) in slipped.items():
        members = dict(built.members)
        members[name] = b"slipped in"
        manifest = json.loads(members["manifest.json"])
        manifest["files"][name] = hashlib.sha256(b"slipped in").hexdigest()
        members["manifest.json"] = canonical_bytes(manifest)
        result = verify_archive(write(tmp_path, rezip(members), "slipped.zip"), built.node_key)
        assert [(p.kind, p.item) for p in result.problems] == [(kind, name)], name
        assert message in result.problems[0].message


def test_layout_matches_the_format(tmp_path: Path) -> None:
    built = build_session()
    members = built.members
    lines = members["events.jsonl"].split(b"\n")
    assert lines[-1] == b""
    assert lines[:-1] == built.events
    leaves = members["leaves.txt"].decode().splitlines()
    assert leaves[4] == hashlib.sha256(b"\x00" + built.events[4]).hexdigest()
    manifest = fast_canonical(members["manifest.json"])
    assert manifest["format"] == "evalroom-archive/1"
    assert manifest["events"] == len(built.events)
    assert set(manifest["files"]) == set(members) - {"manifest.json"}
    keys = fast_canonical(members["keys.json"])
    assert [k["seq"] for k in keys] == [2, 3, 4]
    names = sorted(n for n in members if n.startswith("checkpoints/"))
    assert names[-1] == f"checkpoints/{len(built.events):012d}.note"
    assert "report/report.pdf" not in members


def test_pinned_node_key_mismatch_is_a_problem(tmp_path: Path) -> None:
    built = build_session()
    other = NoteSigner(ORIGIN, fixed_key("another node")).verifier_key()
    result = verify_archive(write(tmp_path, built.data), other)
    assert ("key", "node_key") in {(p.kind, p.item) for p in result.problems}
    assert any(p.kind == "signature" for p in result.problems)


def test_log_walk_without_semantics_checks_hashes_and_tree() -> None:
    built = build_session()
    report = Report()
    walk = LogWalk(report, SESSION, [len(built.events)], semantics=False)
    walk.run(io.BytesIO(built.members["events.jsonl"]), io.BytesIO(built.members["leaves.txt"]))
    leaves = [hashlib.sha256(b"\x00" + e).digest() for e in built.events]
    assert report.problems == []
    assert walk.roots[len(leaves)] == root_from_leaves(leaves)


def test_report_lists_the_first_problems_of_a_kind_and_counts_the_rest() -> None:
    report = Report()
    for seq in range(1, 61):
        report.add("event", f"seq {seq}", "wrong")
    report.add("file", "x", "missing")
    assert [p.item for p in report.problems[:2]] == ["seq 1", "seq 2"]
    assert len(report.problems) == 51
    assert report.omitted == {"event": 10}
    assert not report.ok


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"b":"x"}',
        b'{"b":1,"a":2}',
        b'{"a":1,"a":1}',
        b'{"a": 1}',
        b'{"a":1.5}',
        b'{"a":NaN}',
        b'{"a":9007199254740991}',
        b'{"a":9007199254740992}',
        b'{"a":"9007199254740992123"}',
        b'{"a":"\\u00e9"}',
        '{"a":"é"}'.encode(),
        b'{"a":"\\ud800"}',
        b'{"a":"\\n"}',
        b'{"a":"\\/"}',
        b"[1,2]",
        b"not json",
        b'{"a":-0}',
        b'{"a":1e3}',
    ],
)
def test_fast_canonical_agrees_with_parse_canonical(raw: bytes) -> None:
    try:
        want: object = parse_canonical(raw)
    except CanonicalError:
        with pytest.raises(CanonicalError):
            fast_canonical(raw)
    else:
        assert fast_canonical(raw) == want


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    built = build_session()
    good = write(tmp_path, built.data)
    assert verify_main([str(good), "--node-key", built.node_key]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("NOTE session closed at seq 26,")
    assert lines[1].startswith("OK (checked")
    bad = write(tmp_path, built.data[: len(built.data) // 2], "bad.zip")
    assert verify_main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"FAIL archive {bad}:")
    assert "FAILED: 1 problems" in out


def test_an_unclosed_session_fails_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the close an archive proves a prefix only: that fails, and ``--allow-open`` turns
    it into a plain statement of how far the archive goes."""
    built = build_session(closed=False)
    path = write(tmp_path, built.data)
    n = len(built.events)
    said = f"session not closed: the archive proves the log up to checkpoint {n} only"
    assert verify_main([str(path), "--node-key", built.node_key]) == 1
    assert f"FAIL closure events.jsonl: {said} (no session.sealed)" in (
        capsys.readouterr().out.splitlines()
    )
    assert verify_main([str(path), "--node-key", built.node_key, "--allow-open"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"NOTE {said}"


def test_cli_subprocess_progress(tmp_path: Path) -> None:
    built = build_session()
    path = write(tmp_path, built.data)
    command = [sys.executable, "-m", "server.app.verify_cli", str(path), "--progress"]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verifying [" in done.stderr
    members = dict(built.members)
    members["events.jsonl"] = members["events.jsonl"].replace(b'"value":"5.5"', b'"value":"9.5"', 1)
    path.write_bytes(rezip(members))
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 1
    assert "FAIL event seq " in done.stdout


def rezip(members: dict[str, bytes]) -> bytes:
    """A zip with exactly these members, in this order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


FORWARD = [(1, "prepared", "sign_in"), (2, "sign_in", "scoring"), (3, "scoring", "review")]


@pytest.mark.parametrize(
    ("back", "problem"),
    [
        ((4, "review", "scoring", True), None),  # the one step back a supervisor may approve
        ((4, "review", "sign_in", True), "seq 4"),
        ((4, "scoring", "sign_in", True), "seq 4"),
        ((4, "review", "scoring", False), "seq 4"),  # as a phase.changed it is out of order
    ],
)
def test_the_one_step_back_is_review_to_scoring(
    back: tuple[int, str, str, bool], problem: str | None
) -> None:
    report = Report()
    phases = [(*step, False) for step in FORWARD]
    later = [(5, "scoring", "review", False), (6, "review", "closed", False)] if not problem else []
    check_phases([*phases, back, *later], report)
    assert [p.item for p in report.problems] == ([problem] if problem else [])
