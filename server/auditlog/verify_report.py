"""Archive checks of the evaluation report: the PDFs members signed are the ones archived.

Every ``report.issued`` event names the SHA-256 of the PDF the members were shown and of its
canonical content; the archive must hold ``report/<pdf sha256>.pdf`` and ``.json`` with exactly
those hashes. Members' ``report.signed`` signatures are checked with every other expert
signature, and they bind the same ``report`` hash. ``report/report.json`` (the signed rendering's
data) must say exactly what the log says: the newest issued report, its content, and as its
signatures exactly the ``report.signed`` events since that issue, so no signature can be added to
or left out of the listing. Pure: the caller hands in a reader of archive members.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from server.auditlog.canonical import CanonicalError, parse_canonical
from server.auditlog.verify import Report

REPORT_DIR = "report/"
SIGNED_JSON = "report/report.json"
SIGNED_FORMAT = "evalroom.signed-report/1"
SIGNED_KEYS = {"format", "report_sha256", "content_sha256", "issued_seq", "content", "signatures"}

Read = Callable[[str], bytes | None]


def check_reports(
    issued: list[tuple[int, Any, Any]],
    signatures: list[tuple[int, dict[str, Any]]],
    read: Read,
    digests: dict[str, str],
    report: Report,
) -> None:
    """Check the archived report files against the ``report.issued`` and ``report.signed`` events.

    ``read`` reads a member (reporting a missing one) and records its SHA-256 in ``digests``.
    """
    contents: dict[str, bytes] = {}
    for seq, pdf_hash, content_hash in issued:
        item = f"seq {seq}"
        if not isinstance(pdf_hash, str) or not isinstance(content_hash, str):
            report.add("report", item, "report.issued without report and content hashes")
            continue
        report.count("issued reports")
        for suffix, wanted in ((".pdf", pdf_hash), (".json", content_hash)):
            name = f"{REPORT_DIR}{pdf_hash}{suffix}"
            data = read(name)
            if data is not None and digests[name] != wanted:  # missing: reported by read
                report.add("report", name, f"SHA-256 differs from the one issued at {item}")
            elif data is not None and suffix == ".json":
                contents[pdf_hash] = data
    if issued:
        raw = read(SIGNED_JSON)  # a missing one is reported by read
        if raw is not None:
            check_signed_listing(raw, issued[-1], signatures, contents, report)


def expected_signatures(
    issued_seq: int, signatures: list[tuple[int, dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """The signatures of the report issued at ``issued_seq``, as the log's fold holds them: each
    member's ``report.signed`` since that issue (a re-issue starts a new list)."""
    found: dict[str, dict[str, Any]] = {}
    for seq, data in signatures:
        if seq > issued_seq:
            entry = {k: data.get(k) for k in ("dissent", "signed", "sig")}
            found[str(data.get("seat"))] = {"seq": seq, **entry}
    return dict(sorted(found.items()))


def check_signed_listing(
    raw: bytes,
    newest: tuple[int, Any, Any],
    signatures: list[tuple[int, dict[str, Any]]],
    contents: dict[str, bytes],
    report: Report,
) -> None:
    """``report/report.json`` field by field against the log."""
    try:
        summary = json.loads(raw)
    except ValueError as exc:
        report.add("report", SIGNED_JSON, f"not JSON: {exc}")
        return
    if not isinstance(summary, dict) or summary.keys() != SIGNED_KEYS:
        report.add("report", SIGNED_JSON, f"must hold exactly {sorted(SIGNED_KEYS)}")
        return
    seq, pdf_hash, content_hash = newest
    wanted_signatures = expected_signatures(seq, signatures)
    report.count("report signatures listed", len(wanted_signatures))
    try:
        content = parse_canonical(contents[pdf_hash]) if pdf_hash in contents else None
    except CanonicalError:
        content = None  # its hash matched report.issued: the issued content itself is odd
    wrong = [
        what
        for what, have, want in (
            ("format", summary["format"], SIGNED_FORMAT),
            ("report_sha256 (the newest issued report)", summary["report_sha256"], pdf_hash),
            ("content_sha256", summary["content_sha256"], content_hash),
            ("issued_seq", summary["issued_seq"], seq),
            ("signatures (the report.signed events)", summary["signatures"], wanted_signatures),
        )
        if have != want
    ]
    if content is not None and summary["content"] != content:
        wrong.append("content (the issued report's content)")
    if wrong:
        report.add("report", SIGNED_JSON, f"differs from the log: {', '.join(wrong)}")
