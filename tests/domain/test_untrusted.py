"""The bounds every entry point puts on untrusted JSON (issue 10, deliverable 5)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server.domain.errors import Code, CommandError
from server.domain.untrusted import MAX_DEPTH, MAX_INT, MIN_INT, check_untrusted


def nested(depth: int) -> Any:
    value: Any = 1
    for n in range(depth):
        value = [value] if n % 2 else {"k": value}
    return value


@pytest.mark.parametrize(
    "value",
    [
        {"id": "a-1", "after": MAX_INT, "low": MIN_INT, "f": 7.5, "ok": True, "none": None},
        ["中文", "emoji 🙂", "", 0],
        nested(MAX_DEPTH),
    ],
)
def test_values_within_bounds_pass_unchanged(value: Any) -> None:
    assert check_untrusted(value) is value


@pytest.mark.parametrize(
    ("value", "code", "where"),
    [
        ({"after": MAX_INT + 1}, Code.MALFORMED, "$.after"),
        ({"after": MIN_INT - 1}, Code.MALFORMED, "$.after"),
        ([int("9" * 100)], Code.MALFORMED, "$[0]"),
        ({"reason": "\ud800"}, Code.MALFORMED, "$.reason"),
        ({"reason": "ok\udfffok"}, Code.MALFORMED, "$.reason"),
        ({"reason": "a\x00b"}, Code.MALFORMED, "$.reason"),
        ({"\ud800": 1}, Code.MALFORMED, "$ key"),
        ({"k\x00": 1}, Code.MALFORMED, "$ key"),
        ({"x": float("nan")}, Code.MALFORMED, "$.x"),
        ({"x": float("inf")}, Code.MALFORMED, "$.x"),
        ({"x": b"bytes"}, Code.MALFORMED, "$.x"),
        ({1: "non-text key"}, Code.MALFORMED, "$"),
        (nested(MAX_DEPTH + 1), Code.TOO_LARGE, "$"),
    ],
)
def test_values_out_of_bounds_are_refused_with_a_typed_code(
    value: Any, code: Code, where: str
) -> None:
    with pytest.raises(CommandError) as caught:
        check_untrusted(value)
    assert caught.value.code is code
    assert caught.value.message.startswith(where)


def test_what_json_loads_lets_through_is_refused() -> None:
    """``json.loads`` parses all of these without complaint; the bound catches each."""
    for text in ('"\\ud800"', '"\\u0000"', "NaN", "1e400", "9" * 30, "[" * 50 + "]" * 50):
        with pytest.raises(CommandError):
            check_untrusted(json.loads(text))


def test_a_very_deep_value_is_walked_without_recursion() -> None:
    deep: Any = 0
    for _ in range(100_000):  # far past the interpreter's recursion limit
        deep = [deep]
    with pytest.raises(CommandError) as caught:
        check_untrusted(deep)
    assert caught.value.code is Code.TOO_LARGE
