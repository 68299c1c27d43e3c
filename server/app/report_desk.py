"""Rendering the evaluation report from the log, and keeping its files (the shell of the report).

``data/reports/<session>/<sha256>.pdf`` is each unsigned PDF as issued (what members sign) with
``<sha256>.json``, its canonical content. ``report.pdf`` + ``report.json`` are the current signed
rendering (every member's signature, dissent or neither) and what the archive takes; they are
rewritten after every signature, so the archive always holds the latest state of signing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from server.domain.errors import Code, CommandError
from server.domain.report_signing import IssueReport
from server.domain.state import ReportState, SessionState
from server.report.codec import content_bytes, content_sha256, report_from_dict, report_to_dict
from server.report.fonts import CjkFont, FontMissingError, find_cjk_font
from server.report.from_state import ReportNotReady, iso_time, report_content
from server.report.model import ReportContent, ReportError
from server.report.pdf import pdf_sha256, render_report, render_signed_report
from server.report.signatures import MemberSignature


def reports_folder(data_dir: Path, session: str) -> Path:
    """Where a session's report files live: ``<data dir>/reports/<session>``."""
    return data_dir / "reports" / session


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def _rendered_with(path: Path, report: ReportState) -> bool:
    """Whether the signed rendering at ``path`` is of ``report`` with exactly its signatures."""
    try:
        summary = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    signed = {seat: s.seq for seat, s in report.signatures.items()}
    return (
        isinstance(summary, dict)
        and summary.get("report_sha256") == report.hash
        and {seat: s.get("seq") for seat, s in summary.get("signatures", {}).items()} == signed
    )


class ReportDesk:
    """Renders, stores and serves a session's report files."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._locks: dict[str, asyncio.Lock] = {}
        # reportlab keeps module-level state (fonts, canvases' shared caches) and is not
        # documented as thread-safe: one rendering at a time on this node, in a worker thread.
        self._render_lock = asyncio.Lock()

    def folder(self, session: str) -> Path:
        """Where a session's report files live."""
        return reports_folder(self._data_dir, session)

    def _font(self) -> CjkFont:
        try:
            return find_cjk_font()
        except FontMissingError as error:
            raise CommandError(Code.REPORT_NOT_READY, str(error)) from error

    def content(
        self,
        state: SessionState,
        now_ms: int,
        log_root: bytes,
        names: Mapping[str, str] | None = None,
    ) -> ReportContent:
        """What the report of ``state`` says (cheap: no PDF yet); ``names`` of the drawn experts."""
        try:
            return report_content(state, now_ms, log_root, names)
        except (ReportNotReady, ReportError) as error:
            raise CommandError(Code.REPORT_NOT_READY, str(error)) from error

    async def unchanged(self, state: SessionState, content: ReportContent) -> bool:
        """Whether the issued report already says what ``content`` says (apart from when it
        was made and the log head it names), so that issuing again would change nothing."""
        if state.report is None:
            return False
        path = self.folder(state.session) / f"{state.report.hash}.json"
        try:
            issued = report_from_dict(json.loads(await asyncio.to_thread(path.read_bytes)))
        except (OSError, ValueError, ReportError):
            return False  # not kept here (another node rendered it): render it again
        same_moment = dataclasses.replace(
            issued,
            generated_at=content.generated_at,
            log_seq=content.log_seq,
            log_root=content.log_root,
        )
        return same_moment == content

    async def render(self, content: ReportContent) -> IssueReport:
        """Render the unsigned report of ``content`` and keep it; the hashes to issue."""
        font = self._font()
        async with self._render_lock:
            pdf = await asyncio.to_thread(render_report, content, font)
        digest = pdf_sha256(pdf)
        folder = self.folder(content.session_id)
        await asyncio.to_thread(_write, folder / f"{digest}.json", content_bytes(content))
        await asyncio.to_thread(_write, folder / f"{digest}.pdf", pdf)
        return IssueReport(digest, content_sha256(content), len(pdf), font.sha256)

    async def refresh_signed(self, state: SessionState) -> None:
        """Rewrite ``report.pdf``/``report.json`` with the signatures the log holds now."""
        report = state.report
        if report is None:
            return
        lock = self._locks.setdefault(state.session, asyncio.Lock())
        async with lock:
            folder = self.folder(state.session)
            if await asyncio.to_thread(_rendered_with, folder / "report.json", report):
                return  # a resend: this rendering already holds every signature
            raw = await asyncio.to_thread((folder / f"{report.hash}.json").read_bytes)
            content = report_from_dict(json.loads(raw))
            signatures = [
                MemberSignature(
                    seat,
                    "dissent" if s.dissent else "signed",
                    report.hash,
                    s.sig,
                    iso_time(s.time_ms),
                    s.dissent or "",
                )
                for seat, s in report.signatures.items()
            ]
            font = self._font()
            async with self._render_lock:
                pdf = await asyncio.to_thread(
                    render_signed_report, content, report.hash, signatures, font
                )
            summary: dict[str, Any] = {
                "format": "evalroom.signed-report/1",
                "report_sha256": report.hash,
                "content_sha256": report.content,
                "issued_seq": report.seq,
                "content": report_to_dict(content),
                "signatures": {
                    seat: {"seq": s.seq, "dissent": s.dissent, "signed": s.signed, "sig": s.sig}
                    for seat, s in sorted(report.signatures.items())
                },
            }
            text = json.dumps(summary, ensure_ascii=False, sort_keys=True, indent=1)
            await asyncio.to_thread(_write, folder / "report.json", text.encode("utf-8"))
            await asyncio.to_thread(_write, folder / "report.pdf", pdf)

    def unsigned_pdf(self, session: str, digest: str) -> Path:
        """The issued (unsigned) PDF with this SHA-256."""
        return self.folder(session) / f"{digest}.pdf"

    def signed_pdf(self, session: str) -> Path:
        """The current signed rendering."""
        return self.folder(session) / "report.pdf"
