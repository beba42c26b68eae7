"""Exact firing counts over simulated days and weeks (DST included), at scale, fake clock."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from cognia_nb import ExecutionStatus, Scheduler, TaskContext
from cognia_nb.testing import FakeClock

NY = ZoneInfo("America/New_York")


async def noop(ctx: TaskContext) -> None:
    return None


async def run_week(expr: str, start: datetime, days: float = 7) -> list[str]:
    clock = FakeClock(start)
    scheduler = Scheduler(clock=clock, timezone="America/New_York").start()
    scheduler.register_handler("h", noop)
    task = scheduler.create_task(
        name="c", handler="h", trigger={"type": "cron", "expression": expr}
    )
    await clock.advance(days * 86400)
    fired = [
        e.scheduled_at.astimezone(NY).isoformat()
        for e in reversed(scheduler.get_executions(task.id, limit=10_000))
    ]
    await scheduler.stop()
    scheduler.close()
    return fired


async def test_daily_fixed_job_over_spring_forward_week() -> None:
    fired = await run_week("30 2 * * *", datetime(2024, 3, 7, 12, tzinfo=NY))
    assert fired == [
        "2024-03-08T02:30:00-05:00",
        "2024-03-09T02:30:00-05:00",
        "2024-03-10T03:00:00-04:00",  # 02:30 does not exist: run at the end of the gap
        "2024-03-11T02:30:00-04:00",
        "2024-03-12T02:30:00-04:00",
        "2024-03-13T02:30:00-04:00",
        "2024-03-14T02:30:00-04:00",
    ]


async def test_daily_fixed_job_over_fall_back_week_runs_once_a_day() -> None:
    fired = await run_week("30 1 * * *", datetime(2024, 10, 31, 12, tzinfo=NY))
    assert len(fired) == 7
    assert "2024-11-03T01:30:00-04:00" in fired and "2024-11-03T01:30:00-05:00" not in fired


async def test_wildcard_job_over_fall_back_day_fires_in_both_passes() -> None:
    fired = await run_week("*/30 * * * *", datetime(2024, 11, 3, 0, 0, 1, tzinfo=NY), days=25 / 24)
    # a 25-hour day: 00:30 ... 23:30 (47 wall times), 01:00 and 01:30 twice, then 00:00
    assert len(fired) == 50 and fired[-1] == "2024-11-04T00:00:00-05:00"
    assert fired.count("2024-11-03T01:30:00-04:00") == 1
    assert fired.count("2024-11-03T01:30:00-05:00") == 1


async def test_weekday_job_over_a_week() -> None:
    fired = await run_week("0 9 * * MON-FRI", datetime(2024, 3, 9, tzinfo=NY), days=7)
    assert [f[:10] for f in fired] == [
        "2024-03-11",
        "2024-03-12",
        "2024-03-13",
        "2024-03-14",
        "2024-03-15",
    ]


async def test_interval_over_dst_keeps_utc_spacing() -> None:
    clock = FakeClock(datetime(2024, 3, 9, 12, tzinfo=NY))
    scheduler = Scheduler(clock=clock, timezone="America/New_York").start()
    scheduler.register_handler("h", noop)
    task = scheduler.create_task(
        name="i", handler="h", trigger={"type": "interval", "seconds": 3600}
    )
    await clock.advance(48 * 3600)
    starts = sorted(e.scheduled_ts for e in scheduler.get_executions(task.id, limit=100))
    assert len(starts) == 48
    assert {b - a for a, b in itertools.pairwise(starts)} == {3600}
    await scheduler.stop()
    scheduler.close()


async def test_ten_thousand_tasks_over_a_day_exact_counts() -> None:
    clock = FakeClock(datetime(2024, 6, 1, tzinfo=ZoneInfo("UTC")))
    scheduler = Scheduler(clock=clock, timezone="UTC", max_concurrency=None).start()
    scheduler.register_handler("h", noop)
    for i in range(5000):
        scheduler.create_task(
            name=f"cron{i}", handler="h", trigger={"type": "cron", "expression": "0 */6 * * *"}
        )
        scheduler.create_task(
            name=f"int{i}", handler="h", trigger={"type": "interval", "seconds": 21600}
        )
    await clock.advance(86400)
    per_task = Counter()
    statuses = Counter()
    for task in scheduler.list_tasks():
        runs = scheduler.get_executions(task.id, limit=100)
        per_task[len(runs)] += 1
        statuses.update(e.status for e in runs)
        assert task.missed_count == 0 and task.skipped_count == 0
    assert per_task == {4: 10_000}
    assert statuses == {ExecutionStatus.SUCCEEDED: 40_000}
    await scheduler.stop()
    scheduler.close()


async def test_dispatch_yields_to_the_loop_in_slices() -> None:
    clock = FakeClock()
    scheduler = Scheduler(clock=clock, timezone="UTC", max_concurrency=None, slice_size=100).start()
    scheduler.register_handler("h", noop)
    for i in range(2000):
        scheduler.create_task(
            name=f"t{i}", handler="h", trigger={"type": "interval", "seconds": 60}
        )
    ticks = 0
    stop = False

    async def probe() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1
            await asyncio.sleep(0)

    prober = asyncio.ensure_future(probe())
    await clock.advance(60)
    stop = True
    await prober
    # 2000 due at once in slices of 100: the probe ran between slices (>= 20 times)
    assert ticks >= 20
    await scheduler.stop()
    scheduler.close()


async def test_real_clock_smoke() -> None:
    scheduler = Scheduler(timezone="UTC").start()
    runs: list[float] = []

    async def tick(ctx: TaskContext) -> None:
        runs.append(time.time())

    scheduler.register_handler("tick", tick)
    task = scheduler.create_task(
        name="tick", handler="tick", trigger={"type": "interval", "seconds": 0.05}
    )
    for _ in range(100):
        if len(runs) >= 3:
            break
        await asyncio.sleep(0.05)
    assert len(runs) >= 3
    sync_id = scheduler.run_task_now(task.id)
    ex = await scheduler.wait_for(sync_id, timeout=5)
    assert ex.status is ExecutionStatus.SUCCEEDED
    await scheduler.stop()
    scheduler.close()
