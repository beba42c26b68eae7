"""Timeouts of running attempts: deadlines grouped into 50 ms buckets, one timer per bucket.

A timer is only set for a bucket that still holds a deadline at the end of the loop turn in
which it was filled: attempts that finish at once (most of them) never cost a timer, thousands
started by the same dispatch share one, and an attempt that ends removes itself in O(1). A
bucket that empties cancels its timer, so an idle scheduler keeps no timeout timers.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from .clock import Clock, TimerHandle

__all__ = ["Deadlines"]

_RESOLUTION = 20  # buckets per second: a timeout fires at most 50 ms after its deadline


class Deadlines:
    """Call ``callback()`` once ``deadline`` passes, unless removed first."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[int, dict[int, Callable[[], None]]] = {}
        self._timers: dict[int, TimerHandle] = {}
        self._unarmed: set[int] = set()
        self._arming = False
        self._next_key = 0

    def add(self, deadline: float, callback: Callable[[], None]) -> tuple[int, int]:
        """Register a deadline; returns a token for :meth:`remove`."""
        bucket = math.ceil(deadline * _RESOLUTION)
        self._next_key += 1
        key = self._next_key
        entries = self._buckets.get(bucket)
        if entries is None:
            entries = self._buckets[bucket] = {}
            self._unarmed.add(bucket)
            if not self._arming:
                self._arming = True
                asyncio.get_running_loop().call_soon(self._arm)
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
            self._unarmed.discard(bucket)
            timer = self._timers.pop(bucket, None)
            if timer is not None:
                timer.cancel()

    def _arm(self) -> None:
        self._arming = False
        for bucket in self._unarmed:
            if bucket in self._buckets:
                self._set_timer(bucket)
        self._unarmed.clear()

    def _set_timer(self, bucket: int) -> None:
        self._timers[bucket] = self._clock.call_at(
            bucket / _RESOLUTION, lambda: self._expire(bucket)
        )

    def _expire(self, bucket: int) -> None:
        if self._clock.now() * _RESOLUTION < bucket - 1e-6:  # a capped real timer woke early
            self._set_timer(bucket)
            return
        self._timers.pop(bucket, None)
        entries = self._buckets.pop(bucket, {})
        for callback in list(entries.values()):
            callback()
