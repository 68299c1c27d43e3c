"""Secrets of this node: the token key and the admin token, kept in the data directory (0600).

Values are wrapped in :class:`Secret` so that they never end up in a log line or a repr.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class Secret:
    """A secret string that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


def load_or_create(path: Path, nbytes: int = 32) -> Secret:
    """Read a secret file, creating it (mode 0600, random) on first start."""
    if path.exists():
        return Secret(path.read_text(encoding="ascii").strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return Secret(value)
