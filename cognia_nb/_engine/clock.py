"""Clocks: where the scheduler reads the time and sets its timers.

The scheduler never calls ``time.time()`` or ``loop.call_later`` itself; it asks a
:class:`Clock`. :class:`RealClock` is the wall clock on the running loop.
``cognia_nb.testing.FakeClock`` is a virtual clock for deterministic tests.

Times are UTC POSIX timestamps (floats): cheap to compare and to put in a heap.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["MAX_TIMER_DELAY", "Clock", "RealClock", "TimerHandle"]

# A real timer runs on the loop's monotonic clock. If the wall clock jumps (NTP, a suspended
# laptop), a long timer would fire late by the jump: capping each wait re-reads the wall clock
# at least this often. It is the only periodic wakeup and costs nothing measurable.
MAX_TIMER_DELAY = 300.0


class TimerHandle(Protocol):
    """What ``Clock.call_at`` returns."""

    def cancel(self) -> None:
        """Stop the callback from running (no effect if it already ran)."""


class Clock(ABC):
    """The time source and timer service of a scheduler."""

    @abstractmethod
    def now(self) -> float:
        """The current time as a UTC POSIX timestamp."""

    @abstractmethod
    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` on the event loop once ``now() >= when`` (or a bit earlier; callers
        re-check ``now()``). Must be called on the loop's thread."""

    def track(self, future: asyncio.Future[Any]) -> None:  # noqa: B027 - optional hook
        """Be told about work in a thread the scheduler waits on (a fake clock waits for it
        before moving time; the real clock ignores it)."""

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of this clock's time."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        deadline = self.now() + seconds
        handles: list[TimerHandle] = []

        def wake() -> None:
            if future.done():
                return
            if self.now() < deadline:  # a capped real timer woke early: wait again
                handles.append(self.call_at(deadline, wake))
                return
            future.set_result(None)

        handles.append(self.call_at(deadline, wake))
        try:
            await future
        finally:
            for handle in handles:
                handle.cancel()


class RealClock(Clock):
    """The system wall clock, with timers on the running asyncio loop."""

    # time.time itself, not a method calling it: the scheduler reads the clock a few times
    # per execution.
    now = staticmethod(time.time)

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        return _WallTimer(asyncio.get_running_loop(), when, callback)


# A long wait on the loop's monotonic clock drifts from the wall clock (about 1 ms per second
# measured here, 2-3 ms for a 1.5 s timer): a far timer first wakes this much early, reads the
# wall clock again and waits the rest, so every callback runs within about a millisecond of
# its wall-clock time.
_FINAL_APPROACH = 0.05


class _WallTimer:
    """A timer for a wall-clock instant; runs ``callback`` once ``time.time() >= when``
    (or as close as the loop can: asyncio rounds its waits up to the millisecond)."""

    __slots__ = ("_callback", "_handle", "_loop", "_now", "_when")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        when: float,
        callback: Callable[[], None],
        now: Callable[[], float] = time.time,
    ) -> None:
        self._loop, self._when, self._callback, self._now = loop, when, callback, now
        self._handle: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        delay = self._when - self._now()
        if delay > 2 * _FINAL_APPROACH:
            wait = min(delay - _FINAL_APPROACH, MAX_TIMER_DELAY)
            self._handle = self._loop.call_later(wait, self._arm)
        else:
            self._handle = self._loop.call_later(max(0.0, delay), self._callback)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
