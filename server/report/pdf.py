"""Rendering the report to PDF, byte for byte reproducible (see :mod:`server.report`).

Same content + same reportlab + same font file -> identical bytes, because nothing else goes in:

- ``invariant=1``; the creation and modification dates are written from
  ``content.generated_at`` by our own date formatter, whatever the clock or
  ``SOURCE_DATE_EPOCH`` say;
- the PDF file identifier is seeded from the content hash instead of reportlab's timestamp
  (the one private reportlab attribute we touch, ``PDFDocument.signature``; a test guards it);
- the CJK font is embedded as a subset, chosen by :mod:`server.report.fonts`.

Members sign :func:`pdf_sha256` of :func:`render_report`; :func:`render_signed_report` renders
the archived version with the signature page appended.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, SimpleDocTemplate

from server.report import sections as sec
from server.report import sections_decisions as decisions
from server.report.codec import content_sha256
from server.report.fonts import CjkFont, find_cjk_font
from server.report.model import ReportContent, ReportError
from server.report.signatures import MemberSignature, signature_block

MARGIN = 18 * mm


def pdf_sha256(pdf: bytes) -> str:
    """The report hash members sign: SHA-256 of the PDF bytes, lowercase hex."""
    return hashlib.sha256(pdf).hexdigest()


def pdf_date(iso: str) -> str:
    """An ISO-8601 time with offset as a PDF date string (``D:YYYYMMDDHHmmSS+HH'mm'``)."""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        raise ReportError(f"generated_at {iso!r} is not ISO-8601") from None
    offset = when.utcoffset()
    if offset is None:
        raise ReportError(f"generated_at {iso!r} needs a UTC offset")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hh, mm_ = divmod(abs(minutes), 60)
    return f"D:{when:%Y%m%d%H%M%S}{sign}{hh:02d}'{mm_:02d}'"


def register_font(font: CjkFont) -> str:
    """Register ``font`` with reportlab under a name tied to its hash; returns the name."""
    name = f"EvalroomCJK-{font.sha256[:12]}"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(font.path), subfontIndex=font.subfont))
    return name


class _Canvas(Canvas):
    """Defers pages so each footer can say "page N of M"; pins the date and the file id."""

    def __init__(
        self, *args: Any, footer: Sequence[str], font: str, date: str, seed: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._footer = tuple(footer)
        self._font = font
        self._pages: list[dict[str, Any]] = []
        self.setDateFormatter(lambda *_: date)
        # reportlab seeds the file id with a timestamp (SOURCE_DATE_EPOCH if set): use ours.
        cast(Any, self)._doc.signature = hashlib.md5(seed.encode(), usedforsecurity=False)

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        cast(Any, self)._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._draw_footer(number, total)
            super().showPage()
        super().save()

    def _draw_footer(self, number: int, total: int) -> None:
        self.saveState()
        self.setFont(self._font, 7)
        y = 12 * mm
        self.drawString(MARGIN, y, f"第 {number} / {total} 页 Page {number} of {total}")
        for line in self._footer:
            y -= 3.2 * mm
            self.drawString(MARGIN, y, line)
        self.restoreState()


def build_pdf(
    story: list[Flowable],
    *,
    title: str,
    subject: str,
    footer: Sequence[str],
    font: str,
    date: str,
    seed: str,
) -> bytes:
    """An A4 PDF of ``story`` with reproducible bytes: ``date`` (a PDF date) for its dates,
    ``seed`` for its file id, ``footer`` lines and "page N of M" on every page."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 6 * mm,
        title=title,
        author="evalroom",
        subject=subject,
        creator="evalroom",
        invariant=1,
    )

    def canvasmaker(*args: Any, **kwargs: Any) -> _Canvas:
        return _Canvas(*args, footer=footer, font=font, date=date, seed=seed, **kwargs)

    doc.build(story, canvasmaker=canvasmaker)
    return out.getvalue()


def _build(content: ReportContent, story: list[Flowable], footer: list[str], name: str) -> bytes:
    digest = content_sha256(content)
    p = content.project
    title = f"评标报告 {p.name} {p.lot}"
    date = pdf_date(content.generated_at)
    subject = f"content-sha256:{digest}"
    return build_pdf(
        story, title=title, subject=subject, footer=footer, font=name, date=date, seed=digest
    )


def _story(content: ReportContent, digest: str, st: sec.Styles) -> list[Flowable]:
    story: list[Flowable] = []
    story += sec.project_section(content, digest, st)
    story += sec.committee_section(content, st)
    story += sec.bidders_section(content, st)
    for sheet in content.sheets:
        story += sec.sheet_section(content, sheet, st)
    story += sec.aggregates_section(content, st)
    story += sec.price_section(content, st)
    story += decisions.replacements_section(content, st)
    story += decisions.rejections_section(content, st)
    story += decisions.flags_section(content, st)
    story += sec.ranking_section(content, st)
    return story


def _footer(content: ReportContent, digest: str) -> list[str]:
    p = content.project
    return [f"{p.tender_no} · {p.lot} · 内容 SHA-256 Content: {digest}"]


def render_report(content: ReportContent, font: CjkFont | None = None) -> bytes:
    """The PDF the members sign (no signatures in it). ``font``: default :func:`find_cjk_font`."""
    digest = content_sha256(content)
    name = register_font(font or find_cjk_font())
    st = sec.make_styles(name)
    story = _story(content, digest, st) + sec.unsigned_note(st)
    return _build(content, story, _footer(content, digest), name)


def render_signed_report(
    content: ReportContent,
    report_sha256: str,
    signatures: Sequence[MemberSignature],
    font: CjkFont | None = None,
) -> bytes:
    """The archived PDF: the same content pages, then every member's signature, dissent or
    "neither signed nor dissented". ``report_sha256`` is :func:`pdf_sha256` of
    :func:`render_report`; every signature must be over it (:func:`signature_block`)."""
    block = signature_block(content, report_sha256, tuple(signatures))
    digest = content_sha256(content)
    name = register_font(font or find_cjk_font())
    st = sec.make_styles(name)
    story = _story(content, digest, st) + sec.signature_section(content, report_sha256, block, st)
    footer = [*_footer(content, digest), f"已签署报告 SHA-256 Signed report: {report_sha256}"]
    return _build(content, story, footer, name)
