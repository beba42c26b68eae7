"""The timing core: one heap of due times and one timer on its earliest entry.

No polling: when nothing is due the only pending callback is the timer (re-read at least every
``MAX_TIMER_DELAY`` seconds so a wall-clock jump is noticed). When the timer fires, due entries
are handed to the scheduler in slices of ``slice_size`` with a yield to the loop between slices,
so 10,000 tasks due at the same instant never freeze the loop.

Entries are never removed from the middle of the heap: changing or removing a task bumps its
generation and stale entries are skipped when they surface (and compacted when they pile up).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

from ._clock import Clock, TimerHandle

__all__ = ["Dispatcher"]

DueCallback = Callable[[str, float, float], None]  # (task_id, nominal due ts, now)


class Dispatcher:
    """Heap + single timer + sliced dispatch.

    Args:
        clock: the time source.
        on_due: called as ``on_due(task_id, nominal_due, now)`` for every due entry.
        slice_size: due entries handled per loop iteration.
    """

    def __init__(self, clock: Clock, on_due: DueCallback, slice_size: int = 64) -> None:
        self._clock = clock
        self._on_due = on_due
        self.slice_size = slice_size
        # (fire_at, seq, task_id, generation, nominal_due)
        self._heap: list[tuple[float, int, str, int, float]] = []
        self._seq = itertools.count()
        self._gen: dict[str, int] = {}
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
        generation = self._gen.get(task_id, 0) + 1
        self._gen[task_id] = generation
        at = nominal if fire_at is None else fire_at
        heapq.heappush(self._heap, (at, next(self._seq), task_id, generation, nominal))
        if len(self._heap) > 2 * len(self._gen) + 1024:
            self._compact()
        if not self._dispatching and (self._timer_at is None or at < self._timer_at):
            self._arm()

    def unschedule(self, task_id: str) -> None:
        """Forget the task's pending entry (if any)."""
        if task_id in self._gen:
            self._gen[task_id] += 1

    def forget(self, task_id: str) -> None:
        """Unschedule and drop the task's bookkeeping (task deleted)."""
        self.unschedule(task_id)

    def __len__(self) -> int:
        return len(self._heap)

    def _compact(self) -> None:
        gen = self._gen
        self._heap = [e for e in self._heap if gen.get(e[2]) == e[3]]
        heapq.heapify(self._heap)

    def _drop_stale(self) -> None:
        heap, gen = self._heap, self._gen
        while heap and gen.get(heap[0][2]) != heap[0][3]:
            heapq.heappop(heap)

    def _arm(self) -> None:
        if self._loop is None:
            return
        self._drop_stale()
        if not self._heap:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._timer_at = None
            return
        at = self._heap[0][0]
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
        heap, gen = self._heap, self._gen
        budget = self.slice_size
        self._dispatching = True
        try:
            while heap and budget:
                at, _, task_id, generation, nominal = heap[0]
                if gen.get(task_id) != generation:
                    heapq.heappop(heap)
                    continue
                if at > now:
                    break
                heapq.heappop(heap)
                budget -= 1
                self._on_due(task_id, nominal, now)
        finally:
            self._dispatching = False
        self._drop_stale()
        if heap and heap[0][0] <= now:
            # More is due: continue after the loop has run whatever else is waiting.
            self._continuation = self._loop.call_soon(self._run_slice)
        else:
            self._arm()
