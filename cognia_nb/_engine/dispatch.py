"""The timing core: one heap of due times and one timer on its earliest entry.

No polling: when nothing is due the only pending callback is the timer (re-read at least every
``MAX_TIMER_DELAY`` seconds so a wall-clock jump is noticed). When the timer fires, due entries
are handed to the scheduler in slices (at most ``slice_size`` entries and about
``slice_seconds`` of work, whichever comes first) with a yield to the loop between slices, so
10,000 tasks due at the same instant never freeze the loop, and a few slow handlers do not
either.

Entries are grouped by the instant they fire at: the heap holds each distinct instant once and
a bucket (a list, in scheduling order) holds the entries of that instant. Tasks that share a
schedule (every second, ``*/5 * * * *``) share an instant, so 10,000 of them cost one heap entry,
and taking the next due entry is a list read, not a heap pop.

Entries are never removed from the middle of a bucket: changing or removing a task bumps its
generation and stale entries are skipped when they surface (and compacted when they pile up).
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable

from .clock import Clock, TimerHandle

__all__ = ["Dispatcher"]

DueCallback = Callable[[str, float, float], None]  # (task_id, nominal due ts, now)
_Entry = tuple[str, int, float]  # (task_id, generation, nominal due)


class Dispatcher:
    """Heap of instants + buckets + single timer + sliced dispatch.

    Args:
        clock: the time source.
        on_due: called as ``on_due(task_id, nominal_due, now)`` for every due entry.
        slice_size: due entries handled per loop iteration, at most.
        slice_seconds: (real) time spent per loop iteration, about: a slice ends after the
            entry that crosses it.
    """

    def __init__(
        self,
        clock: Clock,
        on_due: DueCallback,
        slice_size: int = 256,
        slice_seconds: float = 0.001,
    ) -> None:
        self._clock = clock
        self._on_due = on_due
        self.slice_size = slice_size
        self.slice_seconds = slice_seconds
        self._instants: list[float] = []  # heap; an instant may appear twice (see _head)
        self._buckets: dict[float, list[_Entry | None]] = {}  # None: dispatched
        self._entries = 0  # entries in all buckets, stale ones included
        self._head_at: float | None = None  # the bucket being consumed ...
        self._head_pos = 0  # ... and how far
        self._gen: dict[str, int] = {}
        # generations count up across all tasks: an entry left by a deleted task never matches
        # a new task of the same id
        self._generations = 0
        self._timer: TimerHandle | None = None
        self._timer_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dispatching = False
        self._continuation: asyncio.Handle | None = None
        self.wakeups = 0  # timer callbacks run (for tests and benchmarks)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin dispatching on ``loop``."""
        self._loop = loop
        self._arm()

    def stop(self) -> None:
        """Cancel the timer and any pending slice; entries stay for a later start."""
        if self._timer is not None:
            self._timer.cancel()
        if self._continuation is not None:
            self._continuation.cancel()
        self._timer = self._timer_at = self._continuation = None
        self._loop = None

    def schedule(self, task_id: str, nominal: float, fire_at: float | None = None) -> None:
        """(Re)schedule ``task_id``: replaces any earlier entry of the task."""
        self._generations = generation = self._generations + 1
        self._gen[task_id] = generation
        at = nominal if fire_at is None else fire_at
        bucket = self._buckets.get(at)
        if bucket is None:  # a new instant
            self._buckets[at] = [(task_id, generation, nominal)]
            heapq.heappush(self._instants, at)
        else:
            bucket.append((task_id, generation, nominal))
        self._entries += 1
        if self._entries > 2 * len(self._gen) + 1024 and not self._dispatching:
            self._compact()
        if not self._dispatching and (self._timer_at is None or at < self._timer_at):
            self._arm()

    def unschedule(self, task_id: str) -> None:
        """Forget the task's pending entry (if any)."""
        if task_id in self._gen:
            self._generations += 1
            self._gen[task_id] = self._generations

    def forget(self, task_id: str) -> None:
        """Unschedule and drop the task's bookkeeping (task deleted): its entries become stale
        and are compacted away once they outnumber the live ones."""
        self._gen.pop(task_id, None)
        if self._entries > 2 * len(self._gen) + 1024 and not self._dispatching:
            self._compact()
            self._arm()

    def __len__(self) -> int:
        return self._entries

    def _compact(self) -> None:
        gen = self._gen
        buckets: dict[float, list[_Entry | None]] = {}
        for at, bucket in self._buckets.items():
            kept: list[_Entry | None] = [
                e for e in bucket if e is not None and gen.get(e[0]) == e[1]
            ]
            if kept:
                buckets[at] = kept
        self._buckets = buckets
        self._instants = list(buckets)
        heapq.heapify(self._instants)
        self._entries = sum(len(b) for b in buckets.values())
        self._head_at, self._head_pos = None, 0

    def _head(self) -> tuple[float, list[_Entry | None]] | None:
        """The earliest instant with a live entry, its bucket positioned on that entry."""
        instants, buckets, gen = self._instants, self._buckets, self._gen
        while instants:
            at = instants[0]
            bucket = buckets.get(at)
            if at != self._head_at:
                self._head_at, self._head_pos = at, 0
            if bucket is not None:
                pos = self._head_pos
                while pos < len(bucket):
                    entry = bucket[pos]
                    if entry is not None and gen.get(entry[0]) == entry[1]:
                        self._head_pos = pos
                        return at, bucket
                    pos += 1
                self._entries -= len(bucket)
                del buckets[at]
            # An emptied bucket leaves its instant; a bucket made again for the same instant
            # pushed it again, so the duplicate surfaces next and finds no bucket.
            heapq.heappop(instants)
            self._head_at, self._head_pos = None, 0
        return None

    def _arm(self) -> None:
        if self._loop is None:
            return
        head = self._head()
        if head is None:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._timer_at = None
            return
        at = head[0]
        if self._timer is not None:
            if self._timer_at == at:
                return
            self._timer.cancel()
        self._timer_at = at
        self._timer = self._clock.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        self.wakeups += 1
        self._run_slice()

    def _run_slice(self) -> None:
        self._continuation = None
        if self._loop is None:
            return
        now = self._clock.now()
        gen, on_due = self._gen, self._on_due
        budget = self.slice_size
        clock, until = time.perf_counter, time.perf_counter() + self.slice_seconds
        self._dispatching = True
        try:
            while budget and self._loop is not None:
                head = self._head()
                if head is None or head[0] > now:
                    break
                bucket = head[1]
                pos = self._head_pos
                # Entries scheduled into this bucket meanwhile are appended and read here too.
                # A dispatched entry is blanked, so it is never handed out twice.
                while pos < len(bucket) and budget:
                    entry = bucket[pos]
                    bucket[pos] = None
                    pos += 1
                    if entry is not None and gen.get(entry[0]) == entry[1]:
                        budget -= 1
                        self._head_pos = pos
                        on_due(entry[0], entry[2], now)
                        if clock() >= until:
                            budget = 0
                self._head_pos = pos
        finally:
            self._dispatching = False
        if self._loop is None:  # stopped by something it dispatched
            return
        head = self._head()
        if head is not None and head[0] <= now:
            # More is due: continue after the loop has run whatever else is waiting.
            self._continuation = self._loop.call_soon(self._run_slice)
        else:
            self._arm()
