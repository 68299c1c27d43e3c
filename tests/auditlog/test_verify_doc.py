"""docs/VERIFY.md runs as printed: every ``sh`` block, in order, in one bash, with the Python
script saved as the doc says, on a fresh archive of a real closed session and on the suite's
archive (witness, recording, report); and on tampered copies, whose failing steps must fail.

Each block runs as ``{ block }`` and its status is recorded: a step must end non-zero when its
check fails, which is what a reader pasting it sees.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.auditlog.closed_archive import closed_session_archive
from tests.auditlog.mutations import members_of, refresh_manifest, rezip, truncated
from tests.auditlog.test_archive_verify import build_session

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "VERIFY.md"
BLOCK = re.compile(r"^```(\w+)(?: file=(\S+))?\n(.*?)^```$", re.MULTILINE | re.DOTALL)
NOTE = "checkpoints/000000000004.note"
STEP = re.compile(r"^::step (\d+) status (\d+)::$", re.MULTILINE)


def doc_blocks() -> list[tuple[str, str | None, str]]:
    """(language, file name or None, code) of every fenced block of the doc, in order."""
    return [(m[1], m[2], m[3]) for m in BLOCK.finditer(DOC.read_text("utf-8"))]


def run_doc(folder: Path, archive: bytes, node_key: str) -> tuple[list[int], str]:
    """Run the doc's steps on ``archive`` in ``folder``: the status of each ``sh`` block, and
    everything printed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "archive.zip").write_bytes(archive)
    (folder / "node_key.txt").write_text(node_key + "\n")
    script = []
    for index, (language, name, code) in enumerate(doc_blocks()):
        if name is not None:
            (folder / name).write_text(code, "utf-8")
        elif language == "sh":
            script.append(f"{{\n{code}}}\necho ::step {index} status $?::")
    bin_dir = Path(sys.executable).parent  # the checkout's `evalroom` and python
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
    )
    statuses = [int(status) for _, status in STEP.findall(done.stdout)]
    return statuses, done.stdout + done.stderr


def test_the_doc_has_its_steps() -> None:
    blocks = doc_blocks()
    assert [name for _, name, _ in blocks if name] == ["check_archive.py"]
    assert sum(language == "sh" for language, _, _ in blocks) == 8
    text = DOC.read_text("utf-8")
    assert "seat-s1.webm" not in text  # no example file that a real archive does not hold


async def test_every_step_works_on_a_real_closed_session(tmp_path: Path) -> None:
    data, node_key = await closed_session_archive(tmp_path / "node")
    statuses, out = run_doc(tmp_path / "check", data, node_key)
    assert statuses == [0] * 8, out
    for line in (
        "NOTE session closed at seq",
        "OK every file matches manifest.json",
        "checkpoint roots compared",
        "OK (0 problems)",
        "OK node signatures on 5 checkpoints",  # the close and its seal are signed at once
        "SKIP cosignatures: manifest.json lists no witness key",
        "SKIP recordings: the log names none",
        "SKIP report: no report was issued",
    ):
        assert line in out, (line, out)
    signatures = re.search(r"OK (\d+) expert signatures", out)
    assert signatures is not None, out
    assert int(signatures[1]) > 200  # every one, the chair's blind.close among them
    assert "blind.close" in "".join(
        p.read_text("utf-8") for p in (tmp_path / "check" / "archive" / "sigs").glob("*.txt")
    )


def test_every_step_works_with_a_witness_a_recording_and_a_report(tmp_path: Path) -> None:
    built = build_session(report=True)
    statuses, out = run_doc(tmp_path, built.data, built.node_key)
    assert statuses == [0] * 8, out
    cosignatures = len(built.notes)
    for line in (
        f"OK {cosignatures} cosignatures",
        "OK 1 recordings match their recording.closed",
        "OK 1 issued reports match their report.issued",
        "report/report.json lists the 2 signatures of the log",
        "OK 20 expert signatures",
    ):
        assert line in out, (line, out)


def _flipped_signature(members: dict[str, bytes]) -> dict[str, bytes]:
    events = members["events.jsonl"].split(b"\n")
    index = next(n for n, line in enumerate(events) if b'"type":"score.set"' in line)
    body = json.loads(events[index])
    sig = bytearray(base64.b64decode(body["data"]["sig"]))
    sig[5] ^= 1
    body["data"]["sig"] = base64.b64encode(bytes(sig)).decode()
    events[index] = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return {**members, "events.jsonl": b"\n".join(events)}


@pytest.mark.parametrize(
    ("tamper", "failing"),
    [
        # The auditor's attack: cut back to the first checkpoint, every unsigned file rewritten.
        (lambda m: truncated(m, 4), {0, 2}),
        # One expert signature flipped: the tree (step 2) and openssl (step 5) both see it.
        (lambda m: refresh_manifest(_flipped_signature(m)), {0, 2, 5}),
        # A checkpoint's signed text edited: the node signature (step 3) fails.
        (lambda m: refresh_manifest({**m, NOTE: b"x" + m[NOTE]}), {0, 3}),
    ],
    ids=["cut-back", "expert-signature", "checkpoint"],
)
def test_tampered_archives_fail_the_steps_that_check_them(
    tamper: Callable[[dict[str, bytes]], dict[str, bytes]], failing: set[int], tmp_path: Path
) -> None:
    built = build_session(report=True)
    statuses, out = run_doc(tmp_path, rezip(tamper(members_of(built.data))), built.node_key)
    assert len(statuses) == 8, out
    assert {step for step, status in enumerate(statuses) if status != 0} >= failing, out
