"""Debouncing media connection states into log events, with time as an argument.

Seats' connections change state often: Wi-Fi roaming gives a ``disconnected`` of a few hundred
milliseconds that ICE recovers from on its own. Such a blip must not become an event in the
session's log (the log is the audit record, and a supervisor reading it would see a seat drop out
that never did). :class:`StateDebouncer` reports a state only once it has held for ``hold_ms``;
:class:`SilenceWatch` raises one alert per period in which a seat's audio or video stays dark.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Tracked:
    state: str
    since_ms: int
    reported: str | None = None


class StateDebouncer:
    """Reports each key's state once it has been stable for ``hold_ms`` and differs from the last
    state reported for that key."""

    def __init__(self, hold_ms: int = 2000) -> None:
        if hold_ms < 0:
            raise ValueError(f"hold_ms must not be negative, got {hold_ms}")
        self.hold_ms = hold_ms
        self._keys: dict[str, _Tracked] = {}

    def observe(self, key: str, state: str, now_ms: int) -> None:
        """Record that ``key`` is in ``state`` at ``now_ms``; a repeat keeps the earlier start."""
        tracked = self._keys.get(key)
        if tracked is None:
            self._keys[key] = _Tracked(state, now_ms)
        elif tracked.state != state:
            tracked.state = state
            tracked.since_ms = now_ms

    def due(self, now_ms: int) -> list[tuple[str, str]]:
        """The ``(key, state)`` pairs to report now, oldest change first; they count as reported.

        A blip that returned to the reported state before ``hold_ms`` is never reported.
        """
        ready = [
            (tracked.since_ms, key, tracked)
            for key, tracked in self._keys.items()
            if tracked.state != tracked.reported and now_ms - tracked.since_ms >= self.hold_ms
        ]
        ready.sort(key=lambda item: (item[0], item[1]))
        for _, _, tracked in ready:
            tracked.reported = tracked.state
        return [(key, tracked.state) for _, key, tracked in ready]

    def forget(self, key: str) -> None:
        """Stop tracking ``key`` (its connection is gone); a later observe starts afresh."""
        self._keys.pop(key, None)


class SilenceWatch:
    """Alerts once per dark period for keys (e.g. ``"host-1/audio"``) whose media stopped.

    A key is watched from its first :meth:`seen`; seeing media again re-arms its alert.
    """

    def __init__(self) -> None:
        self._last_ms: dict[str, int] = {}
        self._alerted: set[str] = set()

    def seen(self, key: str, now_ms: int) -> None:
        """Media of ``key`` was seen at ``now_ms``."""
        # Reports may arrive out of order from several receivers: time never runs back.
        last = self._last_ms.get(key)
        self._last_ms[key] = now_ms if last is None else max(last, now_ms)
        self._alerted.discard(key)

    def alerts(self, now_ms: int, limit_ms: int) -> list[str]:
        """Keys dark for longer than ``limit_ms`` and not yet alerted, darkest first."""
        dark = sorted(
            (last, key)
            for key, last in self._last_ms.items()
            if key not in self._alerted and now_ms - last > limit_ms
        )
        self._alerted.update(key for _, key in dark)
        return [key for _, key in dark]

    def forget(self, key: str) -> None:
        """Stop watching ``key`` (muted, or no longer published, on purpose)."""
        self._last_ms.pop(key, None)
        self._alerted.discard(key)
