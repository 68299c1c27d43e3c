"""An expert's fee statement (专家劳务报酬结算单) as a PDF with CJK text, and the payment export
as CSV, both from the ``fees.computed`` event (server/domain/fees.py) and nothing else.

The PDF is reproducible like the report (``invariant=1``, the date of the ``fees.computed`` event,
the file id seeded from the statement): the same statement renders the same bytes. Names appear
only where the caller passes them (the admin's notice of the draw); the statement names the
seat, the time, the rates applied and the amounts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from server.report import sections as sec
from server.report.fonts import CjkFont, find_cjk_font
from server.report.pdf import build_pdf, pdf_date, register_font

CHINA = timezone(timedelta(hours=8))
CSV_COLUMNS = (
    "seat",
    "status",
    "venue",
    "expert",
    "name",
    "start",
    "end",
    "minutes",
    "rates_of",
    "amount",
    "travel",
    "total",
)


def _local(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def payment_csv(fees: Mapping[str, Any], people: Mapping[str, Mapping[str, str]]) -> bytes:
    """One row per statement (UTF-8 with a BOM, so spreadsheet software reads the Chinese);
    ``people`` maps a seat to its ``expert`` id and ``name`` where the admin may know them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in fees["statements"]:
        who = people.get(row["seat"], {})
        seat = [
            row["seat"],
            row["status"],
            row["venue"],
            who.get("expert", ""),
            who.get("name", ""),
        ]
        times = [_local(row["start_ms"]), _local(row["end_ms"]), row["minutes"]]
        money = [row["rates_of"], row["amount"], row["travel"], row["total"]]
        writer.writerow([*seat, *times, *money])
    writer.writerow(["", "", "", "", "", "", "", "", "", "", "合计 total", fees["total"]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render_statement(
    project: Mapping[str, str],
    session: str,
    row: Mapping[str, Any],
    issued_ms: int,
    person: Mapping[str, str] | None = None,
    font: CjkFont | None = None,
) -> bytes:
    """The PDF statement of one member's fee."""
    name = register_font(font or find_cjk_font())
    st = sec.make_styles(name)
    status = (
        "回避（至替补时） Recused (until replaced)" if row["status"] == "recused" else "委员 Member"
    )
    facts = [
        ["项目 Project", f"{project.get('code', '')} {project.get('name', '')}"],
        ["评标会话 Session", session],
        ["席位 Seat", f"{row['seat']}（{row['venue']}）"],
        ["身份 Status", status],
        [
            "时间 Time",
            f"{_local(row['start_ms'])} – {_local(row['end_ms'])}（{row['minutes']} 分钟 min）",
        ],
        ["适用标准 Rates of", row["rates_of"]],
        ["劳务费 Fee", f"¥ {sec.money(row['amount'])}"],
        ["交通费 Travel", f"¥ {sec.money(row['travel'])}"],
        ["合计 Total", f"¥ {sec.money(row['total'])}"],
    ]
    if person:
        facts.insert(2, ["专家 Expert", f"{person.get('name', '')}（{person.get('expert', '')}）"])
    story: list[Flowable] = [
        sec.para("专家劳务报酬结算单 Expert fee statement", st.title),
        sec.table(st, ["项目 Item", "内容 Value"], facts, [40 * mm, 134 * mm]),
        sec.para(
            "依据评标会话日志（签到至评标结束）与招标项目的劳务报酬标准计算；副场专家按两地标准孰高。"
            " Computed from the session log (sign-in to close) by the lot's fee catalogue.",
            st.body,
        ),
    ]
    seed = hashlib.sha256(json.dumps(dict(row), sort_keys=True).encode()).hexdigest()
    iso = datetime.fromtimestamp(issued_ms / 1000, UTC).astimezone(CHINA).isoformat()
    return build_pdf(
        story,
        title=f"专家劳务报酬结算单 {row['seat']}",
        subject=f"fee statement {session} {row['seat']}",
        footer=[f"{session} · {row['seat']} · SHA-256 {seed}"],
        font=name,
        date=pdf_date(iso),
        seed=seed,
    )
