"""The report PDF: reproducible bytes, the Chinese text really in it, the signature page."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

# Until pyproject.toml lists them (reportlab, and pypdf in dev), skip rather than break collection.
pytest.importorskip("reportlab")
pytest.importorskip("pypdf")

from pypdf import PdfReader

from server.report import fonts
from server.report.codec import content_sha256, report_from_dict, report_to_dict
from server.report.fonts import CjkFont, FontMissingError, find_cjk_font
from server.report.model import Criterion, Replacement, ReportContent, ReportError, Score, Sheet
from server.report.pdf import pdf_date, pdf_sha256, render_report, render_signed_report
from tests.report.sample import DISSENT, build_content, sample_signatures


def _text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _flat(pdf: bytes) -> str:
    """All the text with line breaks removed (table cells wrap Chinese anywhere)."""
    return "".join(_text(pdf)).replace("\n", "")


@pytest.fixture(scope="module")
def content() -> ReportContent:
    return build_content()


@pytest.fixture(scope="module")
def unsigned(content: ReportContent, cjk_font: CjkFont) -> bytes:
    return render_report(content, cjk_font)


@pytest.fixture(scope="module")
def signed(content: ReportContent, unsigned: bytes, cjk_font: CjkFont) -> bytes:
    h = pdf_sha256(unsigned)
    return render_signed_report(content, h, sample_signatures(h), cjk_font)


def test_identical_input_renders_identical_bytes(
    content: ReportContent, unsigned: bytes, cjk_font: CjkFont, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert unsigned.startswith(b"%PDF-")
    again = report_from_dict(report_to_dict(build_content()))
    assert render_report(again, cjk_font) == unsigned
    # Neither reportlab's reproducible-build variable nor the clock gets in.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert render_report(content, cjk_font) == unsigned


def test_a_changed_field_renders_different_bytes(
    content: ReportContent, unsigned: bytes, cjk_font: CjkFont
) -> None:
    later = dataclasses.replace(content, generated_at="2026-11-23T11:41:00+08:00")
    assert render_report(later, cjk_font) != unsigned
    renamed = dataclasses.replace(content, session_id="sess-other")
    assert render_report(renamed, cjk_font) != unsigned


def test_metadata_carries_the_given_date_and_the_content_hash(
    content: ReportContent, unsigned: bytes
) -> None:
    info = PdfReader(io.BytesIO(unsigned)).metadata
    assert info is not None
    assert str(info["/CreationDate"]) == "D:20261123114000+08'00'"
    assert str(info["/ModDate"]) == "D:20261123114000+08'00'"
    assert str(info["/Subject"]) == f"content-sha256:{content_sha256(content)}"


def test_the_chinese_text_is_in_the_pdf(content: ReportContent, unsigned: bytes) -> None:
    pages = _text(unsigned)
    text = _flat(unsigned)
    for needle in [
        "评标报告",
        "Evaluation report",
        "微山县城区供水管网改造工程",
        "第一标段",
        "JN-2026-SG-0147",
        "综合评估法",
        "山东鲁建水务工程有限公司",
        "济宁市公共资源交易中心",
        "否决投标",
        "投标文件未经投标单位盖章和单位负责人签字",
        "投标保证金电子保函未经投标单位盖章",
        "该投标人未提供老城区管网交叉施工专项方案",
        "施工组织设计未针对老城区管网交叉作业",
        "推荐候选人",
        "评定分离",
    ]:
        assert needle in text, needle
    assert all(content_sha256(content) in page for page in pages)
    assert f"Page 1 of {len(pages)}" in pages[0]


def test_no_award_wording(unsigned: bytes, signed: bytes) -> None:
    for pdf in (unsigned, signed):
        text = _flat(pdf)
        assert "中标人" not in text
        assert "中标" not in text
        assert "winner" not in text.lower()


def test_signed_version_lists_every_member(
    unsigned: bytes, signed: bytes, content: ReportContent
) -> None:
    text = _flat(signed)
    report_hash = pdf_sha256(unsigned)
    assert "签署页 Signatures" in text
    assert text.count("已签署 Signed") >= 5
    assert "签署并保留意见" in text
    assert DISSENT.replace("：", "") in text.replace("：", "")
    assert "未签署，亦未提出保留意见" in text
    assert "Neither signed nor dissented" in text
    assert "赵文斌 (guest-2-1)" in text
    assert report_hash in text
    # The content pages are the same; only the signature page and the footer line differ.
    assert "签署页 Signatures" not in _flat(unsigned)


def test_signed_version_refuses_signatures_over_another_hash(
    content: ReportContent, unsigned: bytes, cjk_font: CjkFont
) -> None:
    other = "00" * 32
    with pytest.raises(ReportError, match="other hash"):
        render_signed_report(content, pdf_sha256(unsigned), sample_signatures(other), cjk_font)


def test_long_tables_split_with_the_header_repeated(cjk_font: CjkFont) -> None:
    base = build_content()
    criteria = tuple(
        Criterion(f"X{i}", "technical", f"评审子项 {i}", "subjective", "5") for i in range(90)
    )
    scores = tuple(Score("B1", c.id, "3.5") for c in criteria)
    long = dataclasses.replace(
        base,
        criteria=criteria,
        sheets=(Sheet("host-1", scores),),
        aggregates=(),
        price=None,
        flags=(),
    )
    pages = _text(render_report(long, cjk_font))
    # Every page a table runs onto (its first row is not X0) starts again with its header row.
    continued = [p for p in pages if "\nX" in p and "\nX0\n" not in p and "\nX0 " not in p]
    assert len(continued) >= 4
    assert all(p.startswith(("编号\nId\n", "评审因素\nCriterion\n")) for p in continued)


def test_caller_text_is_escaped_not_interpreted(cjk_font: CjkFont) -> None:
    base = build_content()
    sheet = base.sheets[0]
    odd = Score("B1", "T1", "9.0", 'a<b> & c</para> "x"')
    sheets = (Sheet(sheet.seat_id, (odd, *sheet.scores[1:])), *base.sheets[1:])
    text = _flat(render_report(dataclasses.replace(base, sheets=sheets), cjk_font))
    assert 'a<b> & c</para> "x"' in text


def test_pdf_date() -> None:
    assert pdf_date("2026-11-23T11:40:00+08:00") == "D:20261123114000+08'00'"
    assert pdf_date("2026-11-23T03:40:00Z") == "D:20261123034000+00'00'"
    assert pdf_date("2026-01-02T03:04:05-05:30") == "D:20260102030405-05'30'"
    with pytest.raises(ReportError, match="offset"):
        pdf_date("2026-11-23T11:40:00")


def test_a_missing_font_names_the_install_script(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(fonts, "DEBIAN_PATHS", ())
    monkeypatch.setattr(fonts, "_WHEEL_PACKAGE", "no_such_font_package_here")
    with pytest.raises(FontMissingError, match=r"scripts/install-fonts\.sh"):
        find_cjk_font([tmp_path / "missing.ttc"])


def test_a_recusal_is_in_the_report(content: ReportContent, cjk_font: CjkFont) -> None:
    """条例 Art. 48: who recused and who evaluated instead; the content hash moves with it."""
    seated = content.committee[-1].seat_id
    recused = Replacement(
        "guest-1-9", "两年前曾为投标人 B3 提供咨询服务", seated, "平度市公共资源交易中心"
    )
    with_recusal = dataclasses.replace(content, replacements=(recused,))
    text = _flat(render_report(with_recusal, cjk_font))
    for needle in ("回避与替补", "guest-1-9", "两年前曾为投标人", "条例第四十八条"):
        assert needle in text, needle
    assert "回避与替补" not in _flat(render_report(content, cjk_font))
    assert "replacements" not in report_to_dict(content)  # older reports keep their hash
    assert content_sha256(with_recusal) != content_sha256(content)
    assert report_from_dict(report_to_dict(with_recusal)) == with_recusal
    with pytest.raises(ReportError):
        dataclasses.replace(content, replacements=(Replacement("x-1", "r", "nobody", "v"),))
