"""A token bucket: a steady rate with a burst. Pure: the time is an argument."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Bucket:
    """``burst`` tokens at most, refilled at ``rate`` per second; one per action."""

    rate: float
    burst: int
    tokens: float = -1.0  # full at the first use (with ``at`` 0.0)
    at: float = 0.0

    def take(self, now: float) -> float:
        """Take one token at ``now`` (seconds): 0.0 if allowed, else seconds until one is free."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def charge(self, amount: float, now: float) -> None:
        """Take ``amount`` more after the fact (the cost of an answer known only once made);
        the bucket may go below zero, and later takes wait until it has refilled."""
        self._refill(now)
        self.tokens -= amount

    def _refill(self, now: float) -> None:
        if self.at == 0.0 and self.tokens == -1.0:  # the first use: a full bucket
            self.tokens, self.at = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
        self.at = now
