"""Bounds on untrusted JSON values: what every entry point checks before anything else reads them.

A client's JSON may hold values that no check further in could expect: integers past what a
database column holds (``after`` = 2**64, a hundred digits), strings that are not Unicode (lone
surrogates, which ``json.loads`` lets through from ``\\ud800``) or that PostgreSQL refuses (NUL),
non-finite floats (``NaN``, ``1e400``), or nesting deep enough to exhaust the interpreter's
stack. :func:`check_untrusted` refuses all of them with a typed error, so that a bad value never
reaches SQL, signing or the committer's batch. It walks the value with an explicit stack (no
recursion) and stops at the first problem.
"""

from __future__ import annotations

import math
from typing import Any

from server.domain.errors import Code, CommandError

MAX_INT = 2**63 - 1  # a signed 64-bit column (BIGINT) holds -2**63 .. 2**63 - 1
MIN_INT = -(2**63)
MAX_DEPTH = 32  # objects and arrays inside each other; the deepest real payload (a lot) has 4


def check_text(value: str, where: str) -> str:
    """``value`` as Unicode every store and signer accepts: no lone surrogate, no NUL."""
    if "\x00" in value:
        raise CommandError(Code.MALFORMED, f"{where}: text must not contain NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CommandError(Code.MALFORMED, f"{where}: text is not valid Unicode") from None
    return value


def check_int(value: int, where: str) -> int:
    """``value`` within a signed 64-bit integer."""
    if not MIN_INT <= value <= MAX_INT:
        raise CommandError(Code.MALFORMED, f"{where}: integer outside the signed 64-bit range")
    return value


def _check_scalar(value: Any, where: str) -> None:
    if isinstance(value, str):
        check_text(value, where)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        check_int(value, where)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CommandError(Code.MALFORMED, f"{where}: number is not finite")
    else:
        raise CommandError(Code.MALFORMED, f"{where}: {type(value).__name__} is not a JSON value")


def check_untrusted(value: Any, where: str = "$") -> Any:
    """Refuse ``value`` unless every part of it is within bounds; return it unchanged.

    ``malformed``: an integer outside signed 64 bits, a non-finite number, a string or object key
    with a lone surrogate or NUL, a value that is not JSON. ``too_large``: objects or arrays nested
    deeper than ``MAX_DEPTH``.
    """
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise CommandError(Code.TOO_LARGE, f"{path}: nested deeper than {MAX_DEPTH}")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise CommandError(Code.MALFORMED, f"{path}: object keys must be text")
                    check_text(key, f"{path} key")
                    stack.append((child, f"{path}.{key[:32]}", depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        else:
            _check_scalar(item, path)
    return value
