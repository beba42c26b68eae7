"""A virtual clock for deterministic scheduling tests (like Trio's MockClock)."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .._engine.clock import Clock

__all__ = ["FakeClock", "settle"]


class _FakeTimer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


async def settle(max_rounds: int = 10_000) -> None:
    """Yield to the event loop until nothing is ready to run (or ``max_rounds`` passes).

    Everything the scheduler does in reaction to a timer (dispatch slices, starting executions,
    finishing them, hooks) is a chain of ready callbacks; when the ready queue is empty that
    chain has ended. Work in threads is not seen here: await ``scheduler.wait_for`` for that.
    """
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    for _ in range(max_rounds):
        await asyncio.sleep(0)
        if ready is not None and not ready:
            # one more round lets callbacks scheduled by the last one run
            await asyncio.sleep(0)
            if not ready:
                return
    return


class FakeClock(Clock):
    """A clock that only moves when told to.

    ``await clock.advance(seconds)`` moves time forward deadline by deadline: at each timer's
    deadline the clock stops, runs the timers due then (in deadline order, ties in the order
    they were set) and lets the loop settle, so work started by one timer can set the next
    timer before time moves on. With ``autojump=True`` a background task jumps straight to the
    next deadline whenever the loop is idle for ``autojump_threshold`` real seconds, so code that
    sleeps for an hour runs in microseconds.

    Sync handlers run in real threads: before moving time the clock waits (up to
    ``thread_wait`` real seconds) for the thread work the scheduler is waiting on, so a quick
    sync handler finishes "at" the time it started. A test that wants a sync handler to still be
    running when time moves (a timeout test) sets ``thread_wait=0``.

    Args:
        start: the initial time (an aware datetime or a UTC timestamp); default
            2024-01-01T00:00:00Z.
        autojump: jump to the next deadline whenever the loop is idle.
        autojump_threshold: real seconds of idleness before a jump (raise it when sync handlers
            run in threads and must finish before time moves).
    """

    def __init__(
        self,
        start: datetime | float | None = None,
        *,
        autojump: bool = False,
        autojump_threshold: float = 0.0,
        thread_wait: float = 5.0,
    ) -> None:
        if start is None:
            start = datetime(2024, 1, 1, tzinfo=UTC)
        self._now = start.timestamp() if isinstance(start, datetime) else float(start)
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._seq = itertools.count()
        self.autojump = autojump
        self.autojump_threshold = autojump_threshold
        self.thread_wait = thread_wait
        self._tracked: set[asyncio.Future[Any]] = set()
        self._jumper: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    # -- Clock ------------------------------------------------------------------------------

    def now(self) -> float:
        return self._now

    def track(self, future: asyncio.Future[Any]) -> None:
        self._tracked.add(future)
        future.add_done_callback(self._tracked.discard)

    def call_at(self, when: float, callback: Callable[[], None]) -> _FakeTimer:
        timer = _FakeTimer(when, callback)
        heapq.heappush(self._timers, (when, next(self._seq), timer))
        if self.autojump:
            self._ensure_jumper()
        return timer

    # -- test controls ----------------------------------------------------------------------

    def now_datetime(self) -> datetime:
        """The current fake time as an aware UTC datetime."""
        return datetime.fromtimestamp(self._now, UTC)

    def next_deadline(self) -> float | None:
        """The earliest pending timer's deadline, or None."""
        self._drop_cancelled()
        return self._timers[0][0] if self._timers else None

    def pending_timers(self) -> int:
        """How many timers are set and not cancelled (a test can assert "no polling")."""
        return sum(1 for _, _, t in self._timers if not t.cancelled)

    def set_time(self, when: datetime | float) -> None:
        """Jump to ``when`` without running timers (a suspended laptop waking up, an NTP step).

        Timers due by then run on the next ``advance``.
        """
        self._now = when.timestamp() if isinstance(when, datetime) else float(when)

    async def advance(self, seconds: float = 0.0) -> None:
        """Move time forward by ``seconds``, running each timer at its deadline."""
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards (seconds={seconds!r})")
        target = self._now + seconds
        await self.settle()
        while True:
            self._drop_cancelled()
            if not self._timers or self._timers[0][0] > target:
                break
            self._now = max(self._now, self._timers[0][0])
            self._run_due()
            await self.settle()
        self._now = target
        await self.settle()

    async def run_until(self, when: datetime | float) -> None:
        """Advance to an absolute time."""
        ts = when.timestamp() if isinstance(when, datetime) else float(when)
        await self.advance(max(0.0, ts - self._now))

    async def settle(self) -> None:
        """Let the loop run until idle, waiting (up to ``thread_wait``) for tracked threads."""
        await settle()
        if self._tracked and self.thread_wait > 0:
            await asyncio.wait(set(self._tracked), timeout=self.thread_wait)
            await settle()

    # -- internals --------------------------------------------------------------------------

    def _drop_cancelled(self) -> None:
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)

    def _run_due(self) -> None:
        timers = self._timers
        while timers and timers[0][0] <= self._now:
            _, _, timer = heapq.heappop(timers)
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback()

    def _ensure_jumper(self) -> None:
        if self._jumper is not None and not self._jumper.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._jumper = loop.create_task(self._autojump(), name="FakeClock.autojump")

    async def _autojump(self) -> None:
        while self.autojump:
            await self.settle()
            if self.autojump_threshold:
                await asyncio.sleep(self.autojump_threshold)
                await self.settle()
            self._drop_cancelled()
            if not self._timers:
                # Nothing to jump to: check again after the loop has run something else.
                await asyncio.sleep(0.001)
                continue
            self._now = max(self._now, self._timers[0][0])
            self._run_due()

    async def aclose(self) -> None:
        """Stop the autojump task."""
        self.autojump = False
        if self._jumper is not None:
            self._jumper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._jumper
            self._jumper = None
