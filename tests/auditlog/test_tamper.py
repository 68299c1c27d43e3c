"""Tampering with an archive is always detected, and the report names what was touched.

The property test mutates the archive's content (the bytes of its members, or which members
exist) and rebuilds the zip. Mutations that leave every member byte-identical are excluded. The
one field no signature or hash covers, the manifest's ``created_ms``, is excluded too and says
so: the verifier only checks it is not before the last event.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from server.auditlog.archive import verify_archive
from server.auditlog.canonical import canonical_bytes
from server.auditlog.verify import Report
from tests.auditlog.test_archive_verify import build_session, rezip

BUILT = build_session(scores_per_seat=2, every=5)


def check(members: dict[str, bytes], tmp_path: Path, name: str = "t.zip") -> Report:
    path = tmp_path / name
    path.write_bytes(rezip(members))
    report = verify_archive(path, BUILT.node_key)
    assert not any("internal error" in p.message for p in report.problems), report.problems
    return report


def items(report: Report) -> set[tuple[str, str]]:
    return {(p.kind, p.item) for p in report.problems}


def with_member(name: str, data: bytes) -> dict[str, bytes]:
    members = dict(BUILT.members)
    members[name] = data
    return members


def with_events(events: list[bytes], fix_leaves: bool = True) -> dict[str, bytes]:
    """Replace the events; optionally rewrite leaves.txt and the manifest hashes to match."""
    members = dict(BUILT.members)
    members["events.jsonl"] = b"".join(e + b"\n" for e in events)
    if fix_leaves:
        leaves = "".join(hashlib.sha256(b"\x00" + e).hexdigest() + "\n" for e in events)
        members["leaves.txt"] = leaves.encode()
        manifest = json.loads(members["manifest.json"])
        for name in ("events.jsonl", "leaves.txt"):
            manifest["files"][name] = hashlib.sha256(members[name]).hexdigest()
        manifest["events"] = len(events)
        members["manifest.json"] = canonical_bytes(manifest)
    return members


def test_untouched_archive_is_clean(tmp_path: Path) -> None:
    assert check(dict(BUILT.members), tmp_path).problems == []


def test_flip_any_byte_of_any_event(tmp_path: Path) -> None:
    for index, event in enumerate(BUILT.events):
        for position in (0, len(event) // 3, len(event) // 2, len(event) - 1):
            changed = bytearray(event)
            changed[position] ^= 0x04
            events = list(BUILT.events)
            events[index] = bytes(changed)
            report = check(with_events(events, fix_leaves=False), tmp_path)
            assert ("event", f"seq {index + 1}") in items(report), (index, position)
            # An attacker who also rewrites leaves.txt and the manifest is caught by the roots.
            report = check(with_events(events), tmp_path)
            assert not report.ok, (index, position)
            kinds = {p.kind for p in report.problems}
            assert "checkpoint" in kinds or "event" in kinds


def test_delete_reorder_insert_events(tmp_path: Path) -> None:
    events = list(BUILT.events)
    deleted = check(with_events(events[:6] + events[7:]), tmp_path)
    assert ("event", "seq 7") in items(deleted)
    swapped = check(with_events([*events[:6], events[7], events[6], *events[8:]]), tmp_path)
    assert ("event", "seq 7") in items(swapped)
    inserted = check(with_events([*events[:6], events[2], *events[6:]]), tmp_path)
    assert ("event", "seq 7") in items(inserted)
    dropped_last = check(with_events(events[:-1]), tmp_path)  # a size no checkpoint signs
    assert any("final size" in p.message for p in dropped_last.problems)


def test_flip_any_byte_of_any_checkpoint(tmp_path: Path) -> None:
    for name in (n for n in BUILT.members if n.startswith("checkpoints/")):
        note = BUILT.members[name]
        for position in range(0, len(note), 7):
            changed = bytearray(note)
            changed[position] ^= 0x01
            report = check(with_member(name, bytes(changed)), tmp_path)
            assert {("checkpoint", name), ("signature", name), ("archive", name)} & items(report), (
                name,
                position,
                report.problems,
            )


def test_flip_bytes_of_keys_and_swap_keys(tmp_path: Path) -> None:
    keys = BUILT.members["keys.json"]
    for position in range(0, len(keys), 5):
        changed = bytearray(keys)
        changed[position] ^= 0x01
        report = check(with_member("keys.json", bytes(changed)), tmp_path)
        assert any(p.kind == "key" and p.item.startswith("keys.json") for p in report.problems)
    entries = json.loads(keys)
    entries[0]["key"], entries[1]["key"] = entries[1]["key"], entries[0]["key"]
    report = check(with_member("keys.json", canonical_bytes(entries)), tmp_path)
    assert {("key", "keys.json[0]"), ("key", "keys.json[1]")} <= items(report)


def test_swapped_key_in_the_enrolment_event_breaks_signatures(tmp_path: Path) -> None:
    events = [json.loads(e) for e in BUILT.events]
    enrolled = [e for e in events if e["type"] == "seat.enrolled"]
    enrolled[0]["data"]["key"], enrolled[1]["data"]["key"] = (
        enrolled[1]["data"]["key"],
        enrolled[0]["data"]["key"],
    )
    report = check(with_events([canonical_bytes(e) for e in events]), tmp_path)
    signature_items = {p.item for p in report.problems if p.kind == "signature"}
    sign_in_seq = next(e["seq"] for e in events if e["type"] == "expert.signed_in")
    assert f"seq {sign_in_seq}" in signature_items
    assert any(p.kind == "checkpoint" for p in report.problems)


def test_truncated_or_garbled_archive(tmp_path: Path) -> None:
    data = BUILT.data
    for length in (0, 1, 22, len(data) // 3, len(data) // 2, len(data) - 1):
        path = tmp_path / "cut.zip"
        path.write_bytes(data[:length])
        report = verify_archive(path, BUILT.node_key)
        assert [p.kind for p in report.problems] == ["archive"], length
    for position in range(40, len(data) - 200, 97):
        garbled = bytearray(data)
        garbled[position] ^= 0xFF
        (tmp_path / "garbled.zip").write_bytes(bytes(garbled))
        report = verify_archive(tmp_path / "garbled.zip", BUILT.node_key)
        assert all(
            p.kind in {"archive", "file", "event", "checkpoint", "key", "signature", "recording"}
            for p in report.problems
        )


def only_created_ms_changed(original: bytes, mutated: bytes) -> bool:
    try:
        before, after = json.loads(original), json.loads(mutated)
    except ValueError:
        return False
    if canonical_bytes(after) != mutated or not isinstance(after, dict):
        return False
    before.pop("created_ms")
    after.pop("created_ms", None)
    return bool(before == after)


NAMES = sorted(BUILT.members)
LOG = {"events.jsonl", "leaves.txt"}


@st.composite
def mutations(draw: st.DrawFn) -> dict[str, bytes]:
    members = dict(BUILT.members)
    name = draw(st.sampled_from(NAMES))
    data = members[name]
    operation = draw(
        st.sampled_from(["flip", "delete", "insert", "truncate", "lines", "drop", "add"])
    )
    at = draw(st.integers(0, max(len(data) - 1, 0)))
    if operation == "flip" and data:
        changed = bytearray(data)
        changed[at] ^= draw(st.integers(1, 255))
        members[name] = bytes(changed)
    elif operation == "delete":
        members[name] = data[:at] + data[at + draw(st.integers(1, 40)) :]
    elif operation == "insert":
        members[name] = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    elif operation == "truncate":
        members[name] = data[:at]
    elif operation == "lines":
        lines = data.split(b"\n")
        i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
        if draw(st.booleans()):
            lines.insert(j, lines[i])
        members[name] = b"\n".join(lines)
    elif operation == "drop":
        del members[name]
    else:
        members[draw(st.sampled_from(["extra.txt", "recordings/x.webm", "checkpoints/1.note"]))] = (
            b"x"
        )
    return members


@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(members=mutations())
def test_every_mutation_is_detected(members: dict[str, bytes], tmp_path: Path) -> None:
    assume(members != BUILT.members)
    changed = [n for n in NAMES if members.get(n) != BUILT.members[n]]
    if changed == ["manifest.json"] and members.keys() == BUILT.members.keys():
        assume(
            not only_created_ms_changed(BUILT.members["manifest.json"], members["manifest.json"])
        )
    report = check(members, tmp_path, "p.zip")
    assert not report.ok
    touched = changed + sorted(members.keys() - BUILT.members.keys())
    if touched == ["manifest.json"]:
        return  # the manifest steers the other checks: what fails is the file or key it names
    named = " ".join(p.item + " " + p.message for p in report.problems)
    events_named = any(p.item.startswith("seq ") for p in report.problems)
    assert any(name in named or (events_named and name in LOG) for name in touched), (
        touched,
        report.problems,
    )


def test_created_ms_before_the_last_event(tmp_path: Path) -> None:
    manifest = json.loads(BUILT.members["manifest.json"])
    manifest["created_ms"] = 1
    report = check(with_member("manifest.json", canonical_bytes(manifest)), tmp_path)
    assert ("file", "manifest.json") in items(report)


@pytest.mark.parametrize("name", NAMES)
def test_each_member_dropped_is_named(name: str, tmp_path: Path) -> None:
    members = dict(BUILT.members)
    del members[name]
    report = check(members, tmp_path)
    assert any(name in p.item or name in p.message for p in report.problems), report.problems
