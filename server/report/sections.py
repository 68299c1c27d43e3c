"""The report's sections as reportlab flowables: Chinese first, English beside it.

Every piece of caller text goes through :func:`para`, which escapes it for reportlab's
paragraph markup. Long tables repeat their header row on each page (``repeatRows=1``).
Wording follows 评定分离: candidates are ranked and recommended, no award is stated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from server.report.model import Criterion, ReportContent, Sheet
from server.report.signatures import MemberSignature

METHOD_LABELS = {
    "comprehensive": "综合评估法 Comprehensive scoring",
    "lowest_price": "经评审的最低投标价法 Lowest evaluated price",
}
GROUP_LABELS = {
    "technical": "技术 Technical",
    "commercial": "商务 Commercial",
    "price": "价格 Price",
}
GROUP_SHORT = {"technical": "技术分 Tech.", "commercial": "商务分 Comm.", "price": "价格分 Price"}
KIND_LABELS = {
    "subjective": "主观 Subjective",
    "objective": "客观 Objective",
    "credit": "信用 Credit",
    "price": "价格 Price",
}
FLAG_LABELS = {"deviation": "偏离度\nDeviation", "objective_mismatch": "客观分不一致\nMismatch"}
STATUS_LABELS = {
    "signed": "已签署 Signed",
    "dissent": "签署并保留意见 Signed with dissent",
    "none": "未签署，亦未提出保留意见 Neither signed nor dissented",
}
BIDDERS_PER_TABLE = 6
PAGE_WIDTH = 174 * mm  # A4 less two 18 mm margins


@dataclass(frozen=True)
class Styles:
    """Paragraph styles in the embedded CJK font."""

    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    cell: ParagraphStyle
    small: ParagraphStyle


def make_styles(font: str) -> Styles:
    """The report's styles; ``wordWrap='CJK'`` lets Chinese lines break between characters."""

    def style(
        name: str,
        size: float,
        align: Literal[0, 1] = 0,
        before: float = 0,
        after: float = 0,
        keep: Literal[0, 1] = 0,
    ) -> ParagraphStyle:
        return ParagraphStyle(
            name,
            fontName=font,
            fontSize=size,
            leading=size * 1.4,
            wordWrap="CJK",
            alignment=align,
            spaceBefore=before,
            spaceAfter=after,
            keepWithNext=keep,
        )

    return Styles(
        title=style("title", 18, align=1, after=4 * mm),
        heading=style("heading", 12, before=5 * mm, after=2 * mm, keep=1),
        body=style("body", 9, after=1.5 * mm),
        cell=style("cell", 8),
        small=style("small", 7),
    )


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain caller text (escaped; newlines kept)."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def money(value: str) -> str:
    """A CNY amount with thousands separators, digits as given."""
    return f"{Decimal(value):,}"


def table(
    st: Styles, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
) -> Table:
    """A gridded table of escaped text whose header row repeats on every page it spans."""
    # "中文 English" headers break after the Chinese so narrow columns never split a word.
    data = [[para(h.replace(" ", "\n", 1), st.cell) for h in header]]
    data += [[para(c, st.cell) for c in row] for row in rows]
    t = Table(data, colWidths=list(widths), repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf2")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return t


def _split(total: float, first: float, n: int) -> list[float]:
    return [first] + [(total - first) / n] * n


def project_section(c: ReportContent, content_hash: str, st: Styles) -> list[Flowable]:
    """Title, project facts, the 评定分离 statement."""
    p = c.project
    facts = [
        ("招标编号 Tender no.", p.tender_no),
        ("项目名称 Project", p.name),
        ("标段 Lot", p.lot),
        ("评标办法 Method", METHOD_LABELS.get(p.method, p.method)),
        ("最高投标限价 Price cap (CNY)", money(p.max_price_cny) if p.max_price_cny else "—"),
        ("会话 Session", c.session_id),
        ("日志位置 Log position", _log_position(c)),
        ("生成时间 Generated", c.generated_at),
        ("内容 SHA-256 Content hash", content_hash),
    ]
    return [
        para("评标报告 Evaluation report", st.title),
        table(st, ["项目 Item", "内容 Value"], facts, [52 * mm, PAGE_WIDTH - 52 * mm]),
        Spacer(1, 2 * mm),
        para(
            "评定分离：评标委员会仅对候选人排序并推荐，不作定标决定，定标由招标人依法确定。"
            "Evaluation and award are separate: the committee ranks and recommends candidates "
            "only; the tenderer takes the award decision.",
            st.body,
        ),
    ]


def _log_position(c: ReportContent) -> str:
    if c.log_seq is None:
        return "—"
    return f"seq {c.log_seq}" + (f" · root {c.log_root}" if c.log_root else "")


def committee_section(c: ReportContent, st: Styles) -> list[Flowable]:
    """评标委员会: seat, name, venue, chair."""
    rows = [
        [m.seat_id, m.display_name, m.venue, "组长 Chair" if m.chair else ""] for m in c.committee
    ]
    header = ["席位 Seat", "成员 Member", "场地 Venue", "职务 Role"]
    return [
        para("评标委员会 Evaluation committee", st.heading),
        table(st, header, rows, [28 * mm, 40 * mm, 78 * mm, 28 * mm]),
    ]


def bidders_section(c: ReportContent, st: Styles) -> list[Flowable]:
    """投标人 and 评审因素."""
    bidders = [[b.id, b.name, money(b.price_cny), b.credit or "—"] for b in c.bidders]
    criteria = [
        [
            x.id,
            GROUP_LABELS.get(x.group, x.group),
            x.name,
            KIND_LABELS.get(x.kind, x.kind),
            x.max_points,
        ]
        for x in c.criteria
    ]
    return [
        para("投标人 Bidders", st.heading),
        table(
            st,
            ["编号 Id", "投标人 Bidder", "投标报价 Price (CNY)", "信用 Credit"],
            bidders,
            [18 * mm, 96 * mm, 36 * mm, 24 * mm],
        ),
        para("评审因素 Criteria", st.heading),
        table(
            st,
            ["编号 Id", "类别 Group", "评审因素 Criterion", "性质 Kind", "满分 Max"],
            criteria,
            [18 * mm, 30 * mm, 76 * mm, 30 * mm, 20 * mm],
        ),
    ]


def grid(
    st: Styles,
    criteria: Sequence[Criterion],
    bidder_ids: Sequence[str],
    cell: dict[tuple[str, str], str],
) -> list[Flowable]:
    """Criteria down, bidders across, at most :data:`BIDDERS_PER_TABLE` bidders per table."""
    out: list[Flowable] = []
    for start in range(0, len(bidder_ids), BIDDERS_PER_TABLE):
        chunk = bidder_ids[start : start + BIDDERS_PER_TABLE]
        rows = [[f"{x.id} {x.name}"] + [cell.get((b, x.id), "—") for b in chunk] for x in criteria]
        widths = _split(PAGE_WIDTH, 58 * mm, len(chunk))
        out += [table(st, ["评审因素 Criterion", *chunk], rows, widths), Spacer(1, 2 * mm)]
    return out


def sheet_section(c: ReportContent, sheet: Sheet, st: Styles) -> list[Flowable]:
    """One expert's 评分表 with the comments listed under it."""
    m = c.member(sheet.seat_id)
    cells = {
        (s.bidder_id, s.criterion_id): s.value + ("*" if s.comment else "") for s in sheet.scores
    }
    title = f"评分表 Scoring sheet · {m.display_name} ({m.seat_id})"
    if sheet.submitted_at:
        title += f" · 提交 submitted {sheet.submitted_at}"
    out: list[Flowable] = [para(title, st.heading)]
    # Only the items experts type (credit and price points are never on a sheet).
    typed = {s.criterion_id for s in sheet.scores}
    out += grid(st, [x for x in c.criteria if x.id in typed], [b.id for b in c.bidders], cells)
    for s in sheet.scores:
        if s.comment:
            out.append(para(f"* {s.bidder_id} · {s.criterion_id}：{s.comment}", st.small))
    return out


def aggregates_section(c: ReportContent, st: Styles) -> list[Flowable]:
    """汇总得分: the committee's value per item, trimmed items marked."""
    cells = {
        (a.bidder_id, a.criterion_id): a.value + ("†" if a.dropped_seats else "")
        for a in c.aggregates
    }
    out: list[Flowable] = [para("汇总得分 Committee scores per item", st.heading)]
    out += grid(st, c.criteria, [b.id for b in c.bidders], cells)
    dropped = [
        f"{a.bidder_id}·{a.criterion_id}: {', '.join(a.dropped_seats)}"
        for a in c.aggregates
        if a.dropped_seats
    ]
    if dropped:
        note = "† 去掉的最高分与最低分 Highest and lowest scores left out — " + "; ".join(dropped)
        out.append(para(note, st.small))
    return out


def price_section(c: ReportContent, st: Styles) -> list[Flowable]:
    """价格分: formula, benchmark, each valid bid's points."""
    if c.price is None:
        return []
    p = c.price
    rows = [[s.bidder_id, money(s.price_cny), s.deviation_pct or "—", s.score] for s in p.scores]
    bench = money(p.benchmark_cny) if p.benchmark_cny else "—"
    return [
        para("价格分 Price points", st.heading),
        para(f"计算方法 Formula：{p.formula}", st.body),
        para(f"评标基准价 Benchmark (CNY)：{bench}", st.body),
        table(
            st,
            ["投标人 Bidder", "投标报价 Price (CNY)", "偏差率 Deviation %", "价格分 Points"],
            rows,
            [40 * mm, 50 * mm, 42 * mm, 42 * mm],
        ),
    ]


def ranking_section(c: ReportContent, st: Styles) -> list[Flowable]:
    """汇总与排序 and the recommended candidates (评定分离: no award)."""
    groups: list[str] = []
    for line in c.ranking:
        groups += [g.group for g in line.subtotals if g.group not in groups]
    names = {b.id: b.name for b in c.bidders}
    rows = []
    for line in c.ranking:
        joint = sum(x.rank == line.rank for x in c.ranking) > 1
        sub = {g.group: g.value for g in line.subtotals}
        mark = "推荐\nRecommended" if line.recommended else ""
        if line.tie_at_cut:
            mark = "并列推荐\nRecommended, tied at the cut"
        rows.append(
            [
                f"{line.rank}" + (" 并列 joint" if joint else ""),
                f"{line.bidder_id} {names[line.bidder_id]}",
            ]
            + [sub.get(g, "—") for g in groups]
            + [line.total or "—", money(line.price_cny), mark]
        )
    header = ["排名 Rank", "投标人 Bidder", *(GROUP_SHORT.get(g, g) for g in groups)]
    header += ["总分 Total", "报价 Price (CNY)", "推荐 Recommended"]
    rest = (PAGE_WIDTH - (14 + 42 + 22 + 26) * mm) / (len(groups) + 1)
    widths = [14 * mm, 42 * mm, *([rest] * (len(groups) + 1)), 22 * mm, 26 * mm]
    out: list[Flowable] = [
        para("汇总与排序 Totals and ranking", st.heading),
        table(st, header, rows, widths),
        para("推荐候选人 Recommended candidates", st.heading),
    ]
    recommended = [line for line in c.ranking if line.recommended]
    for line in recommended:
        text = f"第 {line.rank} 名 Rank {line.rank}：{line.bidder_id} {names[line.bidder_id]}"
        out.append(para(text, st.body))
    if not recommended:
        out.append(para("无 None.", st.body))
    return out


def unsigned_note(st: Styles) -> list[Flowable]:
    """How this (signed) document is signed."""
    return [
        para("签署 Signatures", st.heading),
        para(
            "评标委员会成员在各自席位对本文件的 SHA-256 进行电子签名，或签名并提出书面保留意见；"
            "签名记入评标日志，并列于归档版的签署页。"
            "Each member signs this file's SHA-256 from their seat, or signs with a written "
            "dissent; the signatures are logged and listed in the archived version.",
            st.body,
        ),
    ]


def signature_section(
    c: ReportContent, report_hash: str, block: Sequence[MemberSignature], st: Styles
) -> list[Flowable]:
    """签署页: every member's signature, dissent, or neither, over ``report_hash``."""
    intro: list[Flowable] = [
        para("签署页 Signatures", st.heading),
        para(f"所签报告 SHA-256 Signed report hash：{report_hash}", st.body),
    ]
    out: list[Flowable] = []
    for s in block:
        m = c.member(s.seat_id)
        rows = [["成员 Member", f"{m.display_name} ({m.seat_id}) · {m.venue}"]]
        rows.append(["状态 Status", STATUS_LABELS[s.status]])
        if s.status != "none":
            rows += [
                ["报告 SHA-256 Report hash", s.report_sha256],
                ["签名 Signature", s.signature],
                ["时间 Signed at", s.signed_at],
            ]
        if s.dissent:
            rows.append(["保留意见 Dissent", s.dissent])
        data = [[para(a, st.cell), para(b, st.cell)] for a, b in rows]
        t = Table(data, colWidths=[42 * mm, PAGE_WIDTH - 42 * mm])
        t.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
                    ("INNERGRID", (0, 0), (-1, -1), 0.3, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        # The heading stays on the page of the first entry.
        out += [KeepTogether([*intro, t]), Spacer(1, 3 * mm)]
        intro = []
    return out
