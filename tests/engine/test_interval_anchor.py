"""The first run of an interval task is one interval after its creation, never at it.

Reported: with 300 tasks at 3600 s on the real clock, some fired the moment they were created.
Two causes, both tested here: the anchor (a datetime, whole microseconds) and ``now`` (a float)
were turned into microseconds by two different roundings, and the anchor read the clock again
after the creation instant was taken.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from cognia_nb import Scheduler, TaskContext
from cognia_nb.testing import FakeClock, settle
from cognia_nb.testing.fixtures import stop_on_fake_clock
from cognia_nb.triggers import IntervalTrigger

# This float is 1700000000.0904085636...: datetime rounds it to ...090409 µs, but the product
# ts * 1e6 is the float 1700000000090408.5 (a tie after the multiplication's own rounding),
# which round() took down to ...090408 µs, one microsecond before the anchor.
ROUNDS_UP = 1700000000.0904086


class TickingClock(FakeClock):
    """A fake clock that moves 1 ms on every read, like the real one moves between reads."""

    def now(self) -> float:
        self._now += 0.001
        return self._now


async def _first_fires(clock: FakeClock) -> tuple[float, float, list[datetime]]:
    scheduler = Scheduler(clock=clock, timezone="UTC").start()
    calls: list[datetime] = []

    async def tick(ctx: TaskContext) -> None:
        calls.append(ctx.scheduled_at)

    scheduler.register_handler("tick", tick)
    try:
        task = scheduler.create_task(
            name="hourly", handler="tick", trigger={"type": "interval", "seconds": 3600}
        )
        assert task.next_run_ts is not None
        created, first = task.created_ts, task.next_run_ts
        await settle()
        await clock.advance(1)
        early = list(calls)
        await clock.advance(3600)
        assert len(calls) == 1, calls
        return created, first, early
    finally:
        await stop_on_fake_clock(scheduler, clock)
        scheduler.close()
        await clock.aclose()


async def test_a_creation_instant_that_rounds_up_does_not_fire_at_creation() -> None:
    created, first, early = await _first_fires(FakeClock(ROUNDS_UP))
    assert early == []
    assert abs(first - (created + 3600)) < 1e-6, (created, first)


async def test_the_anchor_is_the_creation_instant_even_if_the_clock_moves_meanwhile() -> None:
    created, first, early = await _first_fires(TickingClock(1_700_000_000.0))
    assert early == []
    assert abs(first - (created + 3600)) < 1e-6, (created, first)


@settings(max_examples=2000, deadline=None)
@given(
    ts=st.floats(-1e9, 4e9, allow_nan=False, allow_infinity=False),
    seconds=st.sampled_from([0.001, 1, 7.5, 60, 3600, 86_400]),
)
def test_an_anchor_made_from_now_puts_the_next_fire_one_period_after_now(
    ts: float, seconds: float
) -> None:
    trigger = IntervalTrigger(seconds).anchored(datetime.fromtimestamp(ts, UTC))
    nxt = trigger.next_fire_timestamp(ts)
    assert nxt is not None
    assert abs(nxt - (ts + seconds)) < 2e-6, (ts, seconds, nxt)
    assert trigger.count_between(ts, ts + seconds / 2) == 0
    assert trigger.count_between(ts, nxt) == 1
