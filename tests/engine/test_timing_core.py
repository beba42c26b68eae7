"""The timing core on its own: the dispatcher's buckets and slices, and the wall-clock timer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from cognia_nb._engine.clock import MAX_TIMER_DELAY, _WallTimer
from cognia_nb._engine.dispatch import Dispatcher
from cognia_nb.testing import FakeClock


class RecordingLoop:
    """Stands in for the event loop's call_later/call_soon (the only edge used)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, Callable[[], Any]]] = []
        self.cancelled = 0

    def call_later(self, delay: float, callback: Callable[[], Any]) -> Any:
        self.calls.append((delay, callback))
        loop = self

        class Handle:
            def cancel(self) -> None:
                loop.cancelled += 1

        return Handle()


def test_a_far_wall_timer_wakes_early_and_waits_the_rest_on_the_wall_clock() -> None:
    loop, now, fired = RecordingLoop(), [1000.0], []
    timer = _WallTimer(loop, 1010.0, lambda: fired.append(now[0]), now=lambda: now[0])  # type: ignore[arg-type]
    delay, first = loop.calls[-1]
    assert abs(delay - 9.95) < 1e-9 and not fired
    now[0] = 1009.97  # the monotonic wait ran 20 ms long against the wall clock
    first()
    delay, second = loop.calls[-1]
    assert abs(delay - 0.03) < 1e-9
    now[0] = 1010.0
    second()
    assert fired == [1010.0]
    timer.cancel()
    assert loop.cancelled == 1


def test_wall_timer_caps_its_waits_and_fires_at_once_when_already_due() -> None:
    loop, now = RecordingLoop(), [0.0]
    _WallTimer(loop, 10 * MAX_TIMER_DELAY, lambda: None, now=lambda: now[0])  # type: ignore[arg-type]
    assert loop.calls[-1][0] == MAX_TIMER_DELAY
    _WallTimer(loop, -5.0, lambda: None, now=lambda: now[0])  # type: ignore[arg-type]
    assert loop.calls[-1][0] == 0.0


async def _dispatcher(
    slice_size: int = 256,
) -> tuple[Dispatcher, FakeClock, list[tuple[str, float]]]:
    clock = FakeClock(1000.0)
    seen: list[tuple[str, float]] = []
    dispatcher = Dispatcher(clock, lambda tid, due, now: seen.append((tid, due)), slice_size)
    dispatcher.start(asyncio.get_running_loop())
    return dispatcher, clock, seen


async def test_tasks_due_together_share_one_instant_and_fire_in_scheduling_order() -> None:
    dispatcher, clock, seen = await _dispatcher()
    for name in ("a", "b", "c", "d"):
        dispatcher.schedule(name, 1010.0)
    dispatcher.schedule("early", 1005.0)
    assert len(dispatcher._instants) == 2  # two instants, five entries
    dispatcher.unschedule("b")  # paused: its entry goes stale
    dispatcher.schedule("c", 1020.0)  # moved: the old entry goes stale
    await clock.advance(10)
    assert seen == [("early", 1005.0), ("a", 1010.0), ("d", 1010.0)]
    await clock.advance(10)
    assert seen[-1] == ("c", 1020.0) and len(seen) == 4
    dispatcher.stop()


async def test_a_half_dispatched_bucket_never_hands_an_entry_out_twice() -> None:
    dispatcher, clock, seen = await _dispatcher(slice_size=2)
    for i in range(5):
        dispatcher.schedule(f"t{i}", 1010.0)
    clock.set_time(1010.0)
    dispatcher._run_slice()  # two of five, then a continuation is queued
    assert [t for t, _ in seen] == ["t0", "t1"]
    dispatcher.schedule("late", 1009.0)  # an earlier instant arrives meanwhile
    await clock.advance(0)
    assert sorted(t for t, _ in seen) == ["late", "t0", "t1", "t2", "t3", "t4"]
    assert len(seen) == 6
    dispatcher.stop()


async def test_stale_entries_are_compacted_when_they_pile_up() -> None:
    dispatcher, clock, seen = await _dispatcher()
    for _ in range(3):
        for i in range(1000):
            dispatcher.schedule(f"t{i}", 2000.0 + i)  # every reschedule leaves a stale entry
    assert len(dispatcher) <= 2 * 1000 + 1024
    await clock.advance(1000 + 999)
    assert len(seen) == 1000 and seen[-1] == ("t999", 2999.0)
    dispatcher.stop()
