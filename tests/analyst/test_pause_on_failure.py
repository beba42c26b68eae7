"""max_consecutive_failures: pause after N failed executions in a row (fake clock)."""

from __future__ import annotations

from typing import Any

import pytest

from cognia_nb import ExecutionStatus, Scheduler, TaskContext, TaskStatus, TaskValidationError
from cognia_nb import task as task_decorator
from cognia_nb.plugins._manifest import TASK_KEYS
from cognia_nb.testing import FakeClock

EVERY_MINUTE = {"type": "interval", "seconds": 60}


async def test_pauses_after_n_failures_in_a_row_with_the_reason(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    outcomes = iter([False, False, True, False, False, False, True])
    paused: list[tuple[str, str | None]] = []
    fake_scheduler.on("task_pause", lambda t: paused.append((t.name, t.pause_reason)))

    async def flaky(ctx: TaskContext) -> None:
        if not next(outcomes):
            raise ValueError(f"bad batch #{ctx.attempt_number}")

    task = fake_scheduler.create_task(name="etl", handler=flaky, trigger=EVERY_MINUTE,
                                      max_consecutive_failures=3)  # fmt: skip
    await fake_clock.advance(60 * 10)
    runs = sorted(fake_scheduler.get_executions(task.id, limit=50), key=lambda e: e.scheduled_ts)
    # fail, fail, succeed (streak reset), fail, fail, fail -> paused; nothing fires after.
    assert [e.status for e in runs] == [ExecutionStatus.FAILED] * 2 + [
        ExecutionStatus.SUCCEEDED] + [ExecutionStatus.FAILED] * 3  # fmt: skip
    assert task.status is TaskStatus.PAUSED and task.next_run_ts is None
    assert task.consecutive_failures == 3
    assert task.pause_reason == (
        f"paused after 3 failed executions in a row (max_consecutive_failures=3); "
        f"last: {runs[-1].id} failed: ValueError: bad batch #1"
    )
    assert paused == [("etl", task.pause_reason)]
    assert task.to_dict()["pauseReason"] == task.pause_reason
    fake_scheduler.resume_task(task.id)  # resuming clears the reason and the streak
    assert (task.pause_reason, task.consecutive_failures) == (None, 0)
    await fake_clock.advance(60)
    assert task.status is TaskStatus.ACTIVE  # the next run succeeded


async def test_timeouts_count_cancels_do_not(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    async def slow(ctx: TaskContext) -> None:
        await ctx.sleep(30)

    task = fake_scheduler.create_task(name="slow", handler=slow, trigger=EVERY_MINUTE,
                                      timeout=10, max_consecutive_failures=2)  # fmt: skip
    await fake_clock.advance(75)  # runs at 60, times out at 70
    assert task.consecutive_failures == 1
    ex_id = fake_scheduler.run_task_now(task.id)
    fake_scheduler.cancel_execution(ex_id)
    assert task.consecutive_failures == 1 and task.status is TaskStatus.ACTIVE
    await fake_clock.advance(60)  # runs at 120, times out at 130
    assert task.status is TaskStatus.PAUSED
    assert "2 failed executions in a row" in (task.pause_reason or "")
    assert "timed_out" in (task.pause_reason or "")


async def test_manual_pause_has_no_reason_and_update_keeps_the_limit(
    fake_scheduler: Scheduler,
) -> None:
    task = fake_scheduler.create_task(name="t", handler=lambda: None, trigger=EVERY_MINUTE,
                                      max_consecutive_failures=5)  # fmt: skip
    fake_scheduler.pause_task(task.id)
    assert task.status is TaskStatus.PAUSED and task.pause_reason is None
    again = fake_scheduler.create_task({"name": "t", "handler": "t", "trigger": EVERY_MINUTE,
                                        "maxConsecutiveFailures": 2})  # fmt: skip
    assert again is task and task.max_consecutive_failures == 2


async def test_decorator_and_manifest_key(fake_scheduler: Scheduler) -> None:
    @task_decorator(interval=60, scheduler=fake_scheduler, max_consecutive_failures=4)
    def job() -> None:
        pass

    assert job.cognia_task.max_consecutive_failures == 4  # type: ignore[attr-defined]
    assert "maxConsecutiveFailures" in TASK_KEYS


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3", 10_001])
async def test_bad_limits_are_refused(fake_scheduler: Scheduler, bad: Any) -> None:
    with pytest.raises(TaskValidationError, match=r"max_consecutive_failures must be an integer "
                       r"from 1 to 10000 \(or None: never pause\), got"):  # fmt: skip
        fake_scheduler.create_task(name="t", handler=lambda: None, trigger=EVERY_MINUTE,
                                   max_consecutive_failures=bad)  # fmt: skip
    assert fake_scheduler.list_tasks() == []
