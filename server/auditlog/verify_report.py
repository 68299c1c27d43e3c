"""Archive checks of the evaluation report: the PDFs members signed are the ones archived.

Every ``report.issued`` event names the SHA-256 of the PDF the members were shown and of its
canonical content; the archive must hold ``report/<pdf sha256>.pdf`` and ``.json`` with exactly
those hashes. Members' ``report.signed`` signatures are checked with every other expert
signature, and they bind the same ``report`` hash. The signed rendering ``report/report.json``
must name the newest issued report. Pure: the caller hands in a reader of archive members.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from server.auditlog.verify import Report

REPORT_DIR = "report/"
SIGNED_JSON = "report/report.json"


def check_reports(
    issued: list[tuple[int, Any, Any]],
    read: Callable[[str], bytes | None],
    digests: dict[str, str],
    names: set[str],
    report: Report,
) -> None:
    """Check the archived report files against the ``report.issued`` events of the log.

    ``read`` reads a member (reporting a missing one) and records its SHA-256 in ``digests``.
    """
    for seq, pdf_hash, content_hash in issued:
        item = f"seq {seq}"
        if not isinstance(pdf_hash, str) or not isinstance(content_hash, str):
            report.add("report", item, "report.issued without report and content hashes")
            continue
        report.count("issued reports")
        for suffix, wanted in ((".pdf", pdf_hash), (".json", content_hash)):
            name = f"{REPORT_DIR}{pdf_hash}{suffix}"
            if read(name) is not None and digests[name] != wanted:  # missing: reported by read
                report.add("report", name, f"SHA-256 differs from the one issued at {item}")
    if not issued:
        return  # report files without an issued report are only checked against the manifest
    if SIGNED_JSON not in names:
        report.add("report", SIGNED_JSON, "a report was issued but no signed rendering is here")
        return
    raw = read(SIGNED_JSON)
    if raw is None:
        return
    try:
        summary = json.loads(raw)
        named = summary["report_sha256"]
    except (ValueError, TypeError, KeyError) as exc:
        report.add("report", SIGNED_JSON, f"unreadable: {exc!r}")
        return
    if named != issued[-1][1]:
        report.add("report", SIGNED_JSON, "does not name the newest issued report")
