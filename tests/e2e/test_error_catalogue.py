"""client_web/errors.js: one zh-CN and English text for every error code, and checkValue equal to
the server's ``check_value``.

The catalogue is read from the file (one ``code: ["中文", "English"],`` per line) and must cover
every ``Code``, every ``SignalCode``, every code docs/PROTOCOL.md lists where it says which
endpoint answers what, and every code literal the server answers with outside those enums. In
Chromium, ``checkValue`` is run on a grid of typed values over the demo lot's criteria and a few
more, and must refuse exactly what ``check_value`` refuses, with the same code.
"""

from __future__ import annotations

import json
import random
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from server.domain.errors import Code, CommandError
from server.domain.lot import Lot, parse_lot
from server.domain.scoring import check_value
from signaling.messages import SignalCode
from tests.app.conftest import load_lot

REPO = Path(__file__).resolve().parents[2]
ERRORS_JS = REPO / "client_web" / "errors.js"
PROTOCOL = REPO / "docs" / "PROTOCOL.md"
SOURCES = [*(REPO / "server").rglob("*.py"), *(REPO / "signaling").rglob("*.py")]

_ENTRY = re.compile(r'^\s+([a-z][a-z_]*): \["([^"]*)", "([^"]*)"\],$', re.MULTILINE)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SNAKE = re.compile(r"`([a-z]+(?:_[a-z]+)*)`")
# How the server spells a code outside the enums: {"code": "x"}, _error("x", …) in sio_guard.py,
# refusal = ("x", …) for an unknown event, SignalError("x", …) in signaling.
_LITERALS = [
    re.compile(r"""["']code["']\s*:\s*["']([a-z][a-z_]*)["']"""),
    re.compile(r"""\b_error\(\s*["']([a-z][a-z_]*)["']"""),
    re.compile(r"""\brefusal\s*=\s*\(\s*["']([a-z][a-z_]*)["']"""),
    re.compile(r"""\bSignalError\(\s*["']([a-z][a-z_]*)["']"""),
]


def catalogue() -> dict[str, tuple[str, str]]:
    """CATALOGUE of errors.js, as its lines spell it."""
    text = ERRORS_JS.read_text("utf-8")
    body = text[text.index("const CATALOGUE = {") : text.index("};", text.index("CATALOGUE"))]
    return {code: (zh, en) for code, zh, en in _ENTRY.findall(body)}


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def protocol_codes() -> set[str]:
    """The codes PROTOCOL.md lists by endpoint and for the media channel.

    Parenthesized remarks (statuses, field names such as `sdp`) are dropped, and of the table
    only the codes column is read (its first column names endpoints such as `join`).
    """
    text = PROTOCOL.read_text("utf-8")
    parts = []
    for line in _section(text, "### Error codes by endpoint").splitlines():
        cells = line.split("|")
        parts.append(cells[2] if line.startswith("|") and len(cells) > 2 else line)
    parts.extend(_section(text, "### Errors\n").splitlines())
    listed = " ".join(parts)  # a remark in parentheses may span lines
    while re.search(r"\([^()]*\)", listed):
        listed = re.sub(r"\([^()]*\)", "", listed)
    return set(_SNAKE.findall(listed))


def server_literals() -> set[str]:
    """Code strings written as literals in the server's and the signaling channel's answers."""
    found: set[str] = set()
    for path in SOURCES:
        source = path.read_text("utf-8")
        for pattern in _LITERALS:
            found.update(pattern.findall(source))
    return found


def test_the_readers_find_what_they_read() -> None:
    assert len(catalogue()) >= len(Code)
    assert {"bad_enrolment_code", "id_reused", "unknown_message", "no_report"} <= protocol_codes()
    assert {"unknown_event", "unknown_recording", "internal", "malformed"} <= server_literals()


def test_every_code_has_a_text_in_both_languages() -> None:
    texts = catalogue()
    needed = (
        {str(code) for code in Code}
        | {str(code) for code in SignalCode}
        | protocol_codes()
        | server_literals()
    )
    assert sorted(needed - texts.keys()) == []
    assert sorted(texts.keys() - needed) == []  # no text for a code nothing answers with
    for code, (zh, en) in texts.items():
        assert zh.strip(), code
        assert _CJK.search(zh), f"{code}: {zh!r} has no Chinese"
        assert en.strip(), code
        assert re.search(r"[A-Za-z]", en), code
        assert not _CJK.search(en), f"{code}: the English text {en!r} has Chinese"


# --- checkValue against check_value ------------------------------------------------------------

EXTRA_CRITERIA: list[dict[str, Any]] = [
    # min above 0 (steps count from min), fine steps, big ranges, steps that are not 1/n
    {"id": "X1", "group": "technical", "name": "附加1", "kind": "subjective"}
    | {"min": "1", "max": "5", "step": "0.25"},
    {"id": "X2", "group": "technical", "name": "附加2", "kind": "objective"}
    | {"min": 0.5, "max": 9.5, "step": 1.5},
    {"id": "X3", "group": "technical", "name": "附加3", "kind": "subjective"}
    | {"min": 0, "max": 1000000, "step": "0.0001"},
    {"id": "X4", "group": "technical", "name": "附加4", "kind": "subjective"}
    | {"min": "2.000", "max": "20", "step": "3"},
    {"id": "X5", "group": "technical", "name": "附加5", "kind": "subjective"}
    | {"max": 1, "step": "0.1"},
]
FIXED = [
    "",
    " ",
    "0",
    "00",
    "01",
    "0.0",
    "0.",
    ".5",
    "5.",
    "-0",
    "-1",
    "+1",
    " 1",
    "1 ",
    "1e2",
    "1E0",
    "1e-1",
    "1,5",
    "1_0",
    "NaN",
    "Infinity",
    "inf",
    "0x10",
    "５",
    "٣",
    "½",
    "1.2.3",
    "--1",
    "1..0",
    "9999999",
    "10000000",
    "99999999",
    "9999999.9999",
    "0.0000",
    "0.00000",
    "1.00001",
    "\t1",
]
NOT_STRINGS: list[Any] = [None, 5, 5.5, True, [], {}]


def _text(number: Decimal) -> str:
    return format(number.normalize(), "f")


def _values(criterion: dict[str, Any], rng: random.Random) -> list[Any]:
    low = Decimal(str(criterion.get("min", 0)))
    high = Decimal(str(criterion["max"]))
    step = Decimal(str(criterion.get("step", 1)))
    values: list[Any] = [*FIXED, *NOT_STRINGS]
    for number in (low, high, low + step, high - step, low - step, high + step, low + step / 2):
        values += [_text(number), f"{number:.4f}" if number >= 0 else _text(number)]
    values += [_text(low + step * rng.randint(0, int((high - low) / step))) for _ in range(12)]
    for _ in range(24):  # any short decimal near the range: most are off step, some out of range
        whole = rng.randint(0, int(high) + 2)
        decimals = "".join(rng.choices("0123456789", k=rng.randint(0, 5)))
        values.append(f"{whole}.{decimals}" if decimals else str(whole))
    values.append(_text(high) + "\n")  # see _expected
    return values


def _expected(lot: Lot, criterion: str, raw: Any) -> str | None:
    """check_value's verdict: None or the code it refuses with."""
    if isinstance(raw, str) and raw.endswith("\n"):
        # scoring.py matches with re.match and `$`, which also takes "7.5\n" (and stores it);
        # errors.js refuses it, as fullmatch would.
        return "malformed"
    try:
        check_value(lot, lot.bidders[0].id, criterion, raw)
    except CommandError as error:
        return str(error.code)
    return None


def check_cases() -> tuple[Lot, list[tuple[dict[str, Any], Any, str | None]]]:
    """(criterion as the page sees it, typed value, the server's verdict) over a grid."""
    lot_json = load_lot()
    lot_json["criteria"] = [*lot_json["criteria"], *EXTRA_CRITERIA]
    lot = parse_lot(lot_json)
    rng = random.Random(11)  # a fixed grid: the same cases every run
    cases = []
    for criterion in lot.raw["criteria"]:  # the normalized form the session.created event carries
        values = _values(criterion, rng) if criterion.get("step") else ["1", "0", "x", None]
        verdicts = [(raw, _expected(lot, criterion["id"], raw)) for raw in values]
        cases += [(criterion, raw, verdict) for raw, verdict in verdicts]
        # the same criterion with its numbers as strings (a lot may spell them either way)
        as_text = {k: str(v) if k in ("min", "max", "step") else v for k, v in criterion.items()}
        cases += [(as_text, raw, verdict) for raw, verdict in verdicts[-12:]]
    return lot, cases


def test_the_grid_reaches_every_verdict() -> None:
    _, cases = check_cases()
    verdicts = {verdict for _, _, verdict in cases}
    assert {None, "malformed", "out_of_range", "off_step", "not_scorable"} <= verdicts
    assert len(cases) > 300


@pytest.mark.browser
async def test_check_value_and_texts_in_chromium() -> None:
    from tests.e2e.browser import chromium_page

    _, cases = check_cases()
    errors: list[str] = []
    async with chromium_page(errors) as page:
        await page.goto("about:blank")
        await page.add_script_tag(path=str(ERRORS_JS))
        keys = await page.evaluate("Object.keys(window.EvalroomErrors.CATALOGUE)")
        assert sorted(keys) == sorted(catalogue())
        answers = await page.evaluate(
            "(cases) => cases.map(([c, raw]) => window.EvalroomErrors.checkValue(c, raw))",
            [[criterion, raw] for criterion, raw, _ in cases],
        )
        texts = await page.evaluate(
            """(samples) => samples.map((s) => window.EvalroomErrors.text(s))""",
            [
                {"code": "wrong_phase", "message": "scoring is not open"},
                {"code": "sheet_incomplete", "details": {"cells": ["B1/T1", "B2/C1"]}},
                {"code": "phase_not_ready", "details": {"seats": ["host-1", "guest-2-1"]}},
                {"code": "rate_limited", "details": {"retry_after_ms": 1500}},
                {"code": "nope", "message": "boom"},
            ],
        )
        named = await page.evaluate(
            "[EvalroomErrors.zh('off_step'), EvalroomErrors.en('off_step'), EvalroomErrors.zh('x')]"
        )
    assert errors == []
    wrong = [
        (criterion["id"], raw, answer, verdict)
        for (criterion, raw, verdict), answer in zip(cases, answers, strict=True)
        if (answer and answer["code"]) != verdict
    ]
    assert wrong == []
    for answer in answers:
        assert answer is None or (_CJK.search(answer["zh"]) and answer["en"])
    t1 = next(c for c, _, _ in cases if c["id"] == "T1")
    by_value = {
        raw: answer
        for (c, raw, _), answer in zip(cases, answers, strict=True)
        if c is t1 and isinstance(raw, str)
    }
    assert by_value["10.5"] == {
        "code": "out_of_range",
        "zh": "应在 0–10 之间",
        "en": "Must be between 0 and 10",
    }
    assert by_value["0.25"]["zh"] == "步长为 0.5"
    assert texts[0] == "当前阶段不能进行此操作 Not possible in the current phase"
    assert "评分表尚有空项 The sheet has empty cells" in texts[1]
    assert "B1/T1, B2/C1" in texts[1]
    assert "host-1, guest-2-1" in texts[2]
    assert "2 秒后重试" in texts[3]
    assert texts[4] == "未知错误 Unknown error (nope): boom"
    assert named == ["分值不符合步长", "Score is not on the step", "未知错误"]
    assert json.dumps(answers)  # plain JSON: what the page shows comes straight from it
