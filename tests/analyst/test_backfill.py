"""scheduler.backfill on a fake clock: counts, order, idempotence, cancel mid-batch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cognia_nb import (
    ExecutionStatus,
    Scheduler,
    SchedulerStateError,
    TaskContext,
    TaskValidationError,
    TriggerKind,
)
from cognia_nb._engine.backfill import BackfillBatch
from cognia_nb.testing import FakeClock

DAILY_6 = {"type": "cron", "expression": "0 6 * * *", "timezone": "Europe/Berlin"}


def make(scheduler: Scheduler, seen: list[datetime], sleep: float = 0) -> str:
    async def load(ctx: TaskContext) -> str:
        seen.append(ctx.scheduled_at)
        if sleep:
            await ctx.sleep(sleep)
        return ctx.scheduled_at.isoformat()

    return scheduler.create_task(name="load", handler=load, trigger=DAILY_6).id


async def test_dry_run_lists_due_times_in_order_and_runs_nothing(
    fake_scheduler: Scheduler,
) -> None:
    seen: list[datetime] = []
    tid = make(fake_scheduler, seen)
    frame = fake_scheduler.backfill(tid, "2023-12-01", "2023-12-08")
    assert [t.isoformat() for t in frame["scheduled"]] == [
        f"2023-12-0{d}T06:00:00+01:00" for d in range(1, 8)
    ]
    assert list(frame["action"]) == ["run"] * 7
    assert fake_scheduler.get_executions(tid) == [] and seen == []
    # [start, end): a due time at `end` is not in the range, one at `start` is
    edge = fake_scheduler.backfill(tid, "2023-12-01T06:00", "2023-12-03T06:00")
    assert len(edge) == 2


async def test_run_fires_each_due_time_in_order_as_backfill(
    fake_scheduler: Scheduler,
) -> None:
    seen: list[datetime] = []
    tid = make(fake_scheduler, seen)
    batch = fake_scheduler.backfill(tid, "2023-12-01", "2023-12-08", dry_run=False)
    assert isinstance(batch, BackfillBatch)
    await batch.wait()
    assert batch.done and (batch.finished, batch.total) == (7, 7)
    assert seen == [datetime(2023, 12, d, 5, tzinfo=UTC) for d in range(1, 8)]
    runs = fake_scheduler.get_executions(tid, limit=20)
    assert len(runs) == 7
    assert {r.trigger_kind for r in runs} == {TriggerKind.BACKFILL}
    assert all(r.status is ExecutionStatus.SUCCEEDED for r in runs)
    assert list(batch.frame()["status"]) == ["succeeded"] * 7
    assert fake_scheduler.history(task_id=tid)["trigger_kind"].astype(str).unique().tolist() == [
        "backfill"
    ]


async def test_idempotent_unless_rerun(fake_scheduler: Scheduler) -> None:
    seen: list[datetime] = []
    tid = make(fake_scheduler, seen)
    await fake_scheduler.backfill(tid, "2023-12-01", "2023-12-04", dry_run=False).wait()
    again = fake_scheduler.backfill(tid, "2023-12-01", "2023-12-06")
    assert list(again["action"]) == ["done"] * 3 + ["run"] * 2
    assert again["detail"][0].startswith("x_")
    second = await fake_scheduler.backfill(tid, "2023-12-01", "2023-12-06", dry_run=False).wait()
    assert second.total == 2 and len(seen) == 5
    third = await fake_scheduler.backfill(tid, "2023-12-01", "2023-12-06", dry_run=False,
                                          rerun=True).wait()  # fmt: skip
    assert third.total == 5 and len(seen) == 10


async def test_cancel_mid_batch(fake_scheduler: Scheduler, fake_clock: FakeClock) -> None:
    seen: list[datetime] = []
    tid = make(fake_scheduler, seen, sleep=60)
    batch = fake_scheduler.backfill(tid, "2023-12-01", "2023-12-11", dry_run=False)
    assert isinstance(batch, BackfillBatch)
    assert fake_scheduler.backfills() == [batch]
    await fake_clock.advance(150)  # 60 s each, one at a time: two done, the third running
    assert batch.finished == 2
    assert batch.progress() == {
        "id": batch.id, "task_id": tid, "task_name": "load", "status": "running", "total": 10,
        "finished": 2, "succeeded": 2, "failed": 0, "cancelled": 0, "running": 1,
        "first": "2023-12-01T05:00:00+00:00", "last": "2023-12-10T05:00:00+00:00",
    }  # fmt: skip
    assert batch.cancel() == 8  # the running one and seven never started
    await batch.wait()
    assert len(seen) == 3 and fake_scheduler.backfills() == []
    assert fake_scheduler.backfills(finished=True) == [batch]  # a progress view's last state
    assert {k: batch.progress()[k] for k in ("status", "finished", "succeeded", "cancelled",
            "running")} == {"status": "cancelled", "finished": 10, "succeeded": 2,
                            "cancelled": 8, "running": 0}  # fmt: skip
    statuses = list(batch.frame()["status"])
    assert statuses == ["succeeded"] * 2 + ["cancelled"] + ["not started"] * 7
    await fake_clock.advance(600)
    assert len(seen) == 3  # nothing starts after the cancel


async def test_max_parallel_with_overlap_allow(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    seen: list[datetime] = []
    tid = make(fake_scheduler, seen, sleep=60)
    batch = fake_scheduler.backfill(tid, "2023-12-01", "2023-12-07", dry_run=False,
                                    overlap="allow", max_parallel=3)  # fmt: skip
    await fake_clock.advance(1)
    assert len(seen) == 3
    await fake_clock.advance(60)
    assert len(seen) == 6
    await fake_clock.advance(60)
    await batch.wait()  # type: ignore[union-attr]
    assert batch.finished == 6  # type: ignore[union-attr]


async def test_calendar_exclusions_show_in_the_dry_run(fake_scheduler: Scheduler) -> None:
    fake_scheduler.create_task(name="wd", handler=lambda: None, trigger=DAILY_6,
                               exclude="2023-12-05", windows="Mon-Fri 00:00-24:00")  # fmt: skip
    frame = fake_scheduler.backfill("wd", "2023-12-01", "2023-12-08")
    assert list(frame["action"]) == ["run", "excluded", "excluded", "run", "excluded", "run",
                                     "run"]  # fmt: skip
    assert frame["detail"][4] == "excluded date 2023-12-05"
    assert frame["detail"][1] == "Sat 06:00 is outside the windows (Mon-Fri 00:00-24:00)"


async def test_bad_input(fake_scheduler: Scheduler) -> None:
    seen: list[datetime] = []
    tid = make(fake_scheduler, seen)
    with pytest.raises(TaskValidationError, match=r"end must be after start"):
        fake_scheduler.backfill(tid, "2023-12-08", "2023-12-01")
    with pytest.raises(TaskValidationError, match=r"start 'yesterday' is not a date or time"):
        fake_scheduler.backfill(tid, "yesterday", "2023-12-01")
    with pytest.raises(TaskValidationError, match=r"overlap must be one of .*got 'later'"):
        fake_scheduler.backfill(tid, "2023-12-01", "2023-12-02", dry_run=False, overlap="later")
    with pytest.raises(TaskValidationError, match=r"max_parallel must be an integer >= 1"):
        fake_scheduler.backfill(tid, "2023-12-01", "2023-12-02", dry_run=False, max_parallel=0)
    with pytest.raises(TaskValidationError, match=r"more than 10000 due times"):
        fake_scheduler.backfill(fake_scheduler.create_task(
            name="m", handler=lambda: None, trigger={"type": "interval", "seconds": 1}
        ), "2024-01-01", "2024-01-02")  # fmt: skip
    ev = fake_scheduler.create_task(name="ev", handler=lambda: None,
                                    trigger={"type": "event", "eventType": "ping"})  # fmt: skip
    with pytest.raises(TaskValidationError, match=r"runs on events; it has no due times"):
        fake_scheduler.backfill(ev, "2023-12-01", "2023-12-02")
    stopped = Scheduler(clock=FakeClock(0.0))
    t = stopped.create_task(name="x", handler=lambda: None, trigger=DAILY_6)
    assert len(stopped.backfill(t, "1970-01-01", "1970-01-03")) == 2  # dry run: no loop needed
    with pytest.raises(SchedulerStateError, match=r"needs a running scheduler"):
        stopped.backfill(t, "1970-01-01", "1970-01-03", dry_run=False)
