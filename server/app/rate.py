"""A token bucket: a steady rate with a burst. Pure: the time is an argument."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Bucket:
    """``burst`` tokens at most, refilled at ``rate`` per second."""

    rate: float
    burst: int
    tokens: float = -1.0  # full at the first use (with ``at`` 0.0)
    at: float = 0.0

    def take(self, now: float, amount: float = 1.0) -> float:
        """Take ``amount`` tokens at ``now`` (seconds): 0.0 if allowed, else the seconds until
        they are there. More than ``burst`` costs ``burst``: a full bucket affords anything."""
        self._refill(now)
        amount = min(amount, float(self.burst))
        if self.tokens >= amount:
            self.tokens -= amount
            return 0.0
        return (amount - self.tokens) / self.rate

    def _refill(self, now: float) -> None:
        if self.at == 0.0 and self.tokens == -1.0:  # the first use: a full bucket
            self.tokens, self.at = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
        self.at = now
