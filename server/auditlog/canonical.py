"""Canonical JSON: the exact bytes that are hashed and signed.

The profile is RFC 8785 (JCS) restricted so that every implementation agrees without a float
formatter: object keys are ASCII, numbers are integers within ±(2**53 - 1) (I-JSON), no floats,
NaN or duplicate keys. Keys are sorted, there is no insignificant whitespace, strings are UTF-8 with
only the escapes JSON requires. Decimal quantities (scores, prices) travel as strings.

A browser produces the same bytes with ``JSON.stringify`` over an object whose keys were inserted in
sorted order; the Python side uses :func:`canonical_bytes`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1


class CanonicalError(ValueError):
    """The value or the bytes are not canonical JSON in our profile."""


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise CanonicalError(f"{path}: string is not valid Unicode") from exc
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalError(f"{path}: integer outside ±(2**53 - 1)")
        return
    if isinstance(value, float):
        raise CanonicalError(f"{path}: floats are not allowed; send decimals as strings")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise CanonicalError(f"{path}: object keys must be ASCII strings")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, Sequence):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise CanonicalError(f"{path}: {type(value).__name__} is not a JSON value")


def canonical_bytes(value: Any) -> bytes:
    """Serialize ``value`` to canonical JSON bytes, refusing anything outside the profile."""
    _check(value, "$")
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CanonicalError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_float(text: str) -> Any:
    raise CanonicalError(f"number {text} is not an integer; send decimals as strings")


def _no_constant(text: str) -> Any:
    raise CanonicalError(f"{text} is not JSON")


def parse_json(data: bytes | str) -> Any:
    """Parse strict JSON (no floats, no NaN, no duplicate keys); bytes must be UTF-8."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except CanonicalError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CanonicalError(f"not JSON: {exc}") from exc


def parse_canonical(data: bytes) -> Any:
    """Parse ``data`` and insist it is already in canonical form, byte for byte."""
    value = parse_json(data)
    if canonical_bytes(value) != data:
        raise CanonicalError("JSON is not in canonical form (sorted keys, no whitespace)")
    return value
