"""Timeouts of running attempts: deadlines grouped into 50 ms buckets, one timer per bucket.

Thousands of executions started by the same dispatch share a bucket, so they cost one timer
between them instead of one each, and an attempt that ends removes itself in O(1). A bucket
that empties cancels its timer: an idle scheduler keeps no timeout timers.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ._clock import Clock, TimerHandle

__all__ = ["Deadlines"]

_RESOLUTION = 20  # buckets per second: a timeout fires at most 50 ms after its deadline


class Deadlines:
    """Call ``callback()`` once ``deadline`` passes, unless removed first."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[int, dict[int, Callable[[], None]]] = {}
        self._timers: dict[int, TimerHandle] = {}
        self._next_key = 0

    def add(self, deadline: float, callback: Callable[[], None]) -> tuple[int, int]:
        """Register a deadline; returns a token for :meth:`remove`."""
        bucket = math.ceil(deadline * _RESOLUTION)
        self._next_key += 1
        key = self._next_key
        entries = self._buckets.get(bucket)
        if entries is None:
            entries = self._buckets[bucket] = {}
            self._timers[bucket] = self._clock.call_at(
                bucket / _RESOLUTION, lambda: self._expire(bucket)
            )
        entries[key] = callback
        return bucket, key

    def remove(self, token: tuple[int, int]) -> None:
        """Forget a deadline (its attempt ended)."""
        bucket, key = token
        entries = self._buckets.get(bucket)
        if entries is None:
            return
        entries.pop(key, None)
        if not entries:
            del self._buckets[bucket]
            timer = self._timers.pop(bucket, None)
            if timer is not None:
                timer.cancel()

    def _expire(self, bucket: int) -> None:
        if self._clock.now() * _RESOLUTION < bucket - 1e-6:  # a capped real timer woke early
            self._timers[bucket] = self._clock.call_at(
                bucket / _RESOLUTION, lambda: self._expire(bucket)
            )
            return
        self._timers.pop(bucket, None)
        entries = self._buckets.pop(bucket, {})
        for callback in list(entries.values()):
            callback()
