"""Plain dicts <-> report model, and the canonical bytes and hash of the content.

The dict form is what :func:`dataclasses.asdict` gives (tuples as lists), plus
``"format": "evalroom.report/1"`` at the top. :func:`report_from_dict` accepts ``Decimal`` and
``int`` where the model wants a decimal string (so the rules' results can be passed as they are)
but never ``float``; unknown keys are refused so a typo cannot silently drop a field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import types
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from server.auditlog.canonical import canonical_bytes
from server.report.model import REPORT_FORMAT, ReportContent, ReportError
from server.report.signatures import MemberSignature

_T = TypeVar("_T")


def report_to_dict(content: ReportContent) -> dict[str, Any]:
    """The content as a JSON-ready dict (decimals are already strings), with its format tag.

    ``replacements`` is left out when there are none, so a report without a recusal keeps the
    bytes (and the content hash) it had before replacements existed: older archives verify."""
    data = {"format": REPORT_FORMAT, **dataclasses.asdict(content)}
    if not data["replacements"]:
        del data["replacements"]
    return data


def content_bytes(content: ReportContent) -> bytes:
    """The canonical JSON bytes of the content: what the content hash is taken over."""
    return canonical_bytes(report_to_dict(content))


def content_sha256(content: ReportContent) -> str:
    """SHA-256 of :func:`content_bytes`, lowercase hex."""
    return hashlib.sha256(content_bytes(content)).hexdigest()


def report_from_dict(data: Mapping[str, Any]) -> ReportContent:
    """Build (and validate) the content from its dict form; :class:`ReportError` if malformed."""
    fields = dict(data)
    fmt = fields.pop("format", REPORT_FORMAT)
    if fmt != REPORT_FORMAT:
        raise ReportError(f"unsupported report format {fmt!r}")
    return _build(ReportContent, fields, "$")


def signatures_from_dicts(items: Sequence[Mapping[str, Any]]) -> tuple[MemberSignature, ...]:
    """Signature entries from their dict form."""
    return tuple(_build(MemberSignature, item, f"$[{i}]") for i, item in enumerate(items))


def _build(cls: type[_T], data: Any, path: str) -> _T:
    if not isinstance(data, Mapping):
        raise ReportError(f"{path}: expected an object for {cls.__name__}")
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    extra = sorted(set(data) - known)
    if extra:
        raise ReportError(f"{path}: unknown fields {', '.join(map(str, extra))}")
    kwargs = {name: _value(hints[name], value, f"{path}.{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise ReportError(f"{path}: {exc}") from None


def _value(hint: Any, value: Any, path: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return _value(inner, value, path)
    if origin is tuple:
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise ReportError(f"{path}: expected a list")
        (item,) = [a for a in get_args(hint) if a is not Ellipsis]
        return tuple(_value(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _build(hint, value, path)
    if hint is str:
        if isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool)):
            return str(value)
        if not isinstance(value, str):
            raise ReportError(f"{path}: expected a string, got {type(value).__name__}")
        return value
    if hint is bool or hint is int:
        if type(value) is not hint:
            raise ReportError(f"{path}: expected {hint.__name__}, got {type(value).__name__}")
        return value
    raise ReportError(f"{path}: unsupported field type {hint!r}")  # pragma: no cover
