"""Report sections of the committee's decisions: recusals and replacements, rejected bids, and
flags with their explanations (split from :mod:`server.report.sections`, whose helpers they use).
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from server.report.model import ReportContent
from server.report.sections import FLAG_LABELS, Styles, para, table


def replacements_section(c: ReportContent, st: Styles) -> list[Flowable]:
    """回避与替补: who recused, why, and who evaluated instead (only when someone did)."""
    if not c.replacements:
        return []
    out: list[Flowable] = [para("回避与替补 Recusals and replacements", st.heading)]
    rows = [[r.seat_id, r.reason, r.replaced_by, r.venue] for r in c.replacements]
    header = ["回避席位 Recused seat", "理由 Reason", "替补席位 Replaced by", "场地 Venue"]
    note = para(
        "回避成员的评审结论无效，替补成员重新评审（条例第四十八条）。"
        " The recused member's conclusions are void; the replacement evaluated anew (Art. 48).",
        st.body,
    )
    return [*out, table(st, header, rows, [30 * mm, 74 * mm, 34 * mm, 36 * mm]), note]


def rejections_section(c: ReportContent, st: Styles) -> list[Flowable]:
    """否决投标: ground of 条例 Art. 51 with its wording, the written reason, the vote."""
    out: list[Flowable] = [para("否决投标 Rejected bids", st.heading)]
    if not c.rejections:
        return [*out, para("无 None.", st.body)]
    rows = []
    for r in c.rejections:
        zh, en = r.ground_label
        ground = f"条例第五十一条第（{r.ground}）项 Art. 51 ({r.ground})：{zh} {en}"
        rows.append([r.bidder_id, ground, r.reason, f"{r.votes_for}/{r.votes_cast}"])
    header = ["投标人 Bidder", "否决情形 Ground", "理由 Reason", "赞成 Votes for"]
    return [*out, table(st, header, rows, [22 * mm, 62 * mm, 68 * mm, 22 * mm])]


def flags_section(c: ReportContent, st: Styles) -> list[Flowable]:
    """评审标记: deviation and mismatch flags with the experts' explanations."""
    out: list[Flowable] = [para("评审标记与说明 Flags and explanations", st.heading)]
    if not c.flags:
        return [*out, para("无 None.", st.body)]
    rows = []
    for f in c.flags:
        values = ", ".join(f"{v.seat_id}: {v.value}" for v in f.values)
        if f.mean is not None:
            values += f"\n均值 mean {f.mean}"
        if f.deviation_pct is not None:
            values += f" · 偏离 {f.deviation_pct}%"
        notes = [f"{e.seat_id}：{e.text}" for e in f.explanations]
        if f.resolution:
            notes.append(f"处理 Resolution：{f.resolution}")
        item = f"{f.bidder_id} · {f.criterion_id}"
        rows.append([FLAG_LABELS[f.kind], item, values, "\n".join(notes) or "—"])
    header = ["类型 Kind", "项 Item", "分值 Values", "说明 Explanation"]
    return [*out, table(st, header, rows, [30 * mm, 20 * mm, 44 * mm, 80 * mm])]
