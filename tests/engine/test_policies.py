"""Overlap and misfire policies, concurrency, jitter, clock jumps: exact counts, fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from cognia_nb import ExecutionStatus, Scheduler, TaskContext
from cognia_nb.testing import FakeClock


async def slow_handler(ctx: TaskContext) -> None:
    await ctx.sleep(150)  # longer than the 60 s interval


def interval_task(scheduler: Scheduler, fn: Any = slow_handler, **kw: Any) -> str:
    scheduler.register_handler("h", fn)
    return scheduler.create_task(
        name="t", handler="h", trigger={"type": "interval", "seconds": 60}, **kw
    ).id


async def test_overlap_skip_counts_skipped(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    tid = interval_task(fake_scheduler)
    await fake_clock.advance(600)
    task = fake_scheduler.get_task(tid)
    # each run takes 150 s: 60 runs until 210 (120 and 180 skipped), 240 until 390 (300 and
    # 360 skipped), 420 until 570 (480 and 540 skipped), then 600 runs.
    starts = sorted(
        e.scheduled_at.timestamp() - 1704067200
        for e in fake_scheduler.get_executions(tid, limit=100)
    )
    assert starts == [60, 240, 420, 600]
    assert task.skipped_count == 6
    first = next(
        e
        for e in fake_scheduler.get_executions(tid, 100)
        if e.scheduled_at.timestamp() - 1704067200 == 60
    )
    assert first.skipped == 2


async def test_overlap_queue_runs_each_after_the_other(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    tid = interval_task(fake_scheduler, overlap="queue")
    await fake_clock.advance(300)
    runs = sorted(fake_scheduler.get_executions(tid, 100), key=lambda e: e.scheduled_ts)
    assert [round(e.scheduled_ts - 1704067200) for e in runs] == [60, 120, 180, 240, 300]
    assert [e.status for e in runs[:2]] == [ExecutionStatus.SUCCEEDED, ExecutionStatus.RUNNING]
    assert runs[1].started_ts == 1704067200 + 210  # started when the first ended
    assert all(e.status is ExecutionStatus.PENDING for e in runs[2:])


async def test_overlap_allow_runs_concurrently(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    tid = interval_task(fake_scheduler, overlap="allow")
    await fake_clock.advance(180)
    statuses = [e.status for e in fake_scheduler.get_executions(tid, 100)]
    assert statuses.count(ExecutionStatus.RUNNING) == 3


async def test_overlap_replace_cancels_the_running_one(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    tid = interval_task(fake_scheduler, overlap="replace")
    await fake_clock.advance(180)
    runs = sorted(fake_scheduler.get_executions(tid, 100), key=lambda e: e.scheduled_ts)
    assert [e.status for e in runs] == [
        ExecutionStatus.CANCELLED,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.RUNNING,
    ]
    assert runs[0].reason == "replaced"


async def test_max_concurrency_holds_the_rest_pending(fake_clock: FakeClock) -> None:
    scheduler = Scheduler(clock=fake_clock, timezone="UTC", max_concurrency=2).start()
    scheduler.register_handler("h", slow_handler)
    for i in range(5):
        scheduler.create_task(
            name=f"t{i}", handler="h", trigger={"type": "interval", "seconds": 1000}
        )
    await fake_clock.advance(1000)
    running = [
        t
        for t in scheduler.list_tasks()
        if scheduler.get_latest_execution(t.id).status is ExecutionStatus.RUNNING
    ]
    assert len(running) == 2
    await fake_clock.advance(150)
    done = sum(
        scheduler.get_latest_execution(t.id).status is ExecutionStatus.SUCCEEDED
        for t in scheduler.list_tasks()
    )
    assert done == 2
    await fake_clock.advance(300)
    assert all(
        scheduler.get_latest_execution(t.id).status is ExecutionStatus.SUCCEEDED
        for t in scheduler.list_tasks()
    )
    await scheduler.stop()
    scheduler.close()


async def quick(ctx: TaskContext) -> None:
    return None


@pytest.mark.parametrize(
    ("policy", "runs", "missed_on_run", "task_missed"),
    [("coalesce", 1, 4, 4), ("skip", 0, 0, 5), ("run_all", 5, 0, 0)],
)
async def test_misfire_after_a_clock_jump(  # noqa: PLR0917
    fake_scheduler: Scheduler,
    fake_clock: FakeClock,
    policy: str,
    runs: int,
    missed_on_run: int,
    task_missed: int,
) -> None:
    tid = interval_task(fake_scheduler, quick, misfire=policy)
    await fake_clock.advance(60)  # one normal run
    # The laptop sleeps: the clock jumps 5 minutes 30 s without timers running.
    fake_clock.set_time(fake_clock.now() + 330)
    await fake_clock.advance(0)
    late = [e for e in fake_scheduler.get_executions(tid, 100) if e.scheduled_ts > 1704067260]
    assert len(late) == runs
    if policy == "coalesce":
        assert late[0].missed == missed_on_run
        assert late[0].scheduled_ts == 1704067320  # the first missed firing
    task = fake_scheduler.get_task(tid)
    assert task.missed_count == task_missed
    assert task.next_run_ts == 1704067200 + 420  # back on the original phase


async def test_skip_runs_a_firing_still_within_grace(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    tid = interval_task(fake_scheduler, quick, misfire="skip", misfire_grace_seconds=10)
    fake_clock.set_time(fake_clock.now() + 125)  # firings at 60 and 120; 120 is 5 s late
    await fake_clock.advance(0)
    (ex,) = fake_scheduler.get_executions(tid)
    assert ex.scheduled_ts == 1704067200 + 120 and ex.missed == 1


async def test_backward_clock_jump_rearms_without_double_firing(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    tid = interval_task(fake_scheduler, quick)
    await fake_clock.advance(60)
    fake_clock.set_time(fake_clock.now() - 30)  # NTP steps back
    await fake_clock.advance(90)
    starts = [e.scheduled_ts - 1704067200 for e in fake_scheduler.get_executions(tid, 10)]
    assert sorted(starts) == [60, 120]


async def test_jitter_delays_within_bounds(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    fake_scheduler.register_handler("h", quick)
    for i in range(20):
        fake_scheduler.create_task(
            name=f"j{i}",
            handler="h",
            jitter_seconds=10,
            trigger={"type": "interval", "seconds": 100},
        )
    await fake_clock.advance(111)
    lateness = [
        ex.started_ts - ex.scheduled_ts
        for t in fake_scheduler.list_tasks()
        for ex in fake_scheduler.get_executions(t.id)
    ]
    assert len(lateness) == 20
    assert all(0 <= x <= 10 for x in lateness) and len(set(lateness)) > 1


async def test_idle_scheduler_has_one_timer(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    fake_scheduler.register_handler("h", quick)
    for i in range(1000):
        fake_scheduler.create_task(
            name=f"t{i}", handler="h", trigger={"type": "interval", "seconds": 3600 + i}
        )
    assert fake_clock.pending_timers() == 1
    await fake_clock.advance(3599)
    assert fake_scheduler._dispatcher.wakeups == 0  # no polling
