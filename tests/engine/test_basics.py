"""Task API basics on the fake clock: create, fire, results, upsert, pause/resume, delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cognia_nb import (
    ExecutionNotFoundError,
    ExecutionStatus,
    HandlerNotFoundError,
    Scheduler,
    TaskContext,
    TaskNotFoundError,
    TaskResult,
    TaskStatus,
    TaskValidationError,
    TriggerKind,
)
from cognia_nb.testing import FakeClock, settle


async def test_interval_task_fires_on_its_period(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    calls: list[datetime] = []

    async def tick(ctx: TaskContext) -> None:
        calls.append(ctx.scheduled_at)

    fake_scheduler.register_handler("tick", tick)
    task = fake_scheduler.create_task(
        name="tick", handler="tick", trigger={"type": "interval", "seconds": 60}
    )
    assert task.next_run_at == datetime(2024, 1, 1, 0, 1, tzinfo=UTC)
    await fake_clock.advance(59)
    assert calls == []
    await fake_clock.advance(1)
    assert calls == [datetime(2024, 1, 1, 0, 1, tzinfo=UTC)]
    await fake_clock.advance(3600)
    assert len(calls) == 61
    assert fake_scheduler.get_task(task.id).run_count == 61


async def test_seed_dict_form_and_results(fake_scheduler: Scheduler, fake_clock: FakeClock) -> None:
    async def daily_report(args: Any, ctx: TaskContext) -> dict[str, Any]:
        ctx.log("info", "Generating daily report...")
        ctx.report_progress(0, "Starting")
        ctx.report_progress(50, "Processing data")
        ctx.report_progress(100, "Done")
        return {"success": True, "output": {"reportId": "123"}, "metrics": {"itemsProcessed": 100}}

    unregister = fake_scheduler.register_handler("daily-report", daily_report)
    task = fake_scheduler.create_task(
        {
            "name": "Daily Report",
            "description": "Generate daily analytics report",
            "handler": "daily-report",
            "trigger": {"type": "cron", "expression": "0 9 * * *"},
            "retry": {"maxAttempts": 3, "delaySeconds": 60},
            "timeout": 300,
            "tags": ["reports", "daily"],
        }
    )
    assert task.retry.max_attempts == 3 and task.timeout == 300
    assert task.tags == ("reports", "daily")
    assert task.trigger.to_dict()["timezone"] == "UTC"  # the scheduler's zone
    await fake_clock.advance(9 * 3600)
    ex = fake_scheduler.get_latest_execution(task.id)
    assert ex is not None and ex.status is ExecutionStatus.SUCCEEDED
    assert ex.output == {"reportId": "123"} and ex.metrics == {"itemsProcessed": 100}
    assert ex.progress == 100 and ex.progress_message == "Done"
    assert [e.message for e in ex.logs] == ["Generating daily report..."]
    assert ex.scheduled_at == datetime(2024, 1, 1, 9, tzinfo=UTC)
    assert ex.trigger_kind is TriggerKind.SCHEDULE
    unregister()
    assert fake_scheduler.get_task(task.id).handler_missing


@pytest.mark.parametrize(
    ("value", "success", "output"),
    [
        (None, True, None),
        (42, True, 42),
        ({"rows": 3}, True, {"rows": 3}),
        ({"success": False, "error": "nope"}, False, None),
        (TaskResult(success=True, output="x"), True, "x"),
    ],
)
async def test_return_value_normalisation(
    fake_scheduler: Scheduler, value: object, success: bool, output: object
) -> None:
    fake_scheduler.register_handler("h", lambda: value)
    task = fake_scheduler.create_task(
        name="t", handler="h", trigger={"type": "event", "eventType": "go"}
    )
    ex = await fake_scheduler.wait_for(fake_scheduler.run_task_now(task.id), timeout=5)
    assert (ex.status is ExecutionStatus.SUCCEEDED) is success
    assert ex.output == output
    if not success:
        assert ex.error == "nope"


async def test_exception_is_a_failed_execution_with_traceback(fake_scheduler: Scheduler) -> None:
    def boom(ctx: TaskContext) -> None:
        raise RuntimeError("kaput")

    fake_scheduler.register_handler("boom", boom)
    task = fake_scheduler.create_task(
        name="b", handler="boom", trigger={"type": "interval", "seconds": 10}
    )
    ex = await fake_scheduler.wait_for(fake_scheduler.run_task_now(task.id), timeout=5)
    assert ex.status is ExecutionStatus.FAILED
    assert ex.error == "RuntimeError: kaput"
    assert ex.traceback is not None and "raise RuntimeError" in ex.traceback


async def test_upsert_keeps_id_history_and_paused_state(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    fake_scheduler.register_handler("h", lambda ctx: None)
    first = fake_scheduler.create_task(
        name="job", handler="h", trigger={"type": "interval", "seconds": 60}
    )
    await fake_clock.advance(120)
    assert len(fake_scheduler.get_executions(first.id)) == 2
    fake_scheduler.pause_task(first.id)
    again = fake_scheduler.create_task(
        name="job", handler="h", description="new", trigger={"type": "interval", "seconds": 30}
    )
    assert again.id == first.id and again is first
    assert again.status is TaskStatus.PAUSED and again.description == "new"
    assert len(fake_scheduler.list_tasks()) == 1
    assert len(fake_scheduler.get_executions(first.id)) == 2
    await fake_clock.advance(300)
    assert len(fake_scheduler.get_executions(first.id)) == 2  # paused: nothing fired


async def test_pause_stops_and_resume_rearms_from_now(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    fired: list[float] = []
    fake_scheduler.register_handler("h", lambda ctx: fired.append(ctx.scheduled_at.timestamp()))
    task = fake_scheduler.create_task(
        name="p", handler="h", trigger={"type": "cron", "expression": "*/10 * * * *"}
    )
    events: list[str] = []
    fake_scheduler.on("task_pause", lambda t: events.append(f"pause {t.name}"))
    fake_scheduler.on("task_resume", lambda t: events.append(f"resume {t.name}"))
    await fake_clock.advance(600)
    assert len(fired) == 1
    fake_scheduler.pause_task(task.id)
    assert task.next_run_at is None
    await fake_clock.advance(3600)
    assert len(fired) == 1
    fake_scheduler.resume_task(task.id)
    # resumed at 01:10: the next run is 01:20, nothing caught up
    assert task.next_run_at == datetime(2024, 1, 1, 1, 20, tzinfo=UTC)
    await fake_clock.advance(600)
    assert len(fired) == 2
    assert events == ["pause p", "resume p"]


async def test_unknown_ids_raise_naming_the_id(fake_scheduler: Scheduler) -> None:
    with pytest.raises(TaskNotFoundError, match="'nope'"):
        fake_scheduler.get_task("nope")
    for method in (
        fake_scheduler.pause_task,
        fake_scheduler.resume_task,
        fake_scheduler.delete_task,
        fake_scheduler.run_task_now,
    ):
        with pytest.raises(TaskNotFoundError, match="'t_missing'"):
            method("t_missing")
    with pytest.raises(ExecutionNotFoundError, match="'x_missing'"):
        fake_scheduler.get_execution("x_missing")
    with pytest.raises(ExecutionNotFoundError, match="'x_missing'"):
        fake_scheduler.cancel_execution("x_missing")


async def test_missing_handler_waits_and_registration_arms(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    task = fake_scheduler.create_task(
        name="later", handler="later", trigger={"type": "interval", "seconds": 60}
    )
    assert task.handler_missing
    with pytest.raises(HandlerNotFoundError, match="'later'"):
        fake_scheduler.run_task_now(task.id)
    await fake_clock.advance(30)
    calls: list[int] = []
    fake_scheduler.register_handler("later", lambda ctx: calls.append(1))
    assert not task.handler_missing
    await fake_clock.advance(30)
    assert calls == [1]


async def test_invalid_create_leaves_nothing(fake_scheduler: Scheduler) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"name": "x", "handler": "h", "trigger": {"type": "cron", "expression": "61 * * * *"}},
            "trigger.expression",
        ),
        (
            {
                "name": "x",
                "handler": "h",
                "trigger": {"type": "interval", "seconds": 5},
                "retry": {"maxAttempts": 0},
            },
            "retry.maxAttempts",
        ),
        (
            {
                "name": "x",
                "handler": "h",
                "trigger": {"type": "interval", "seconds": 5},
                "timeout": -1,
            },
            "timeout",
        ),
        (
            {
                "name": "x",
                "handler": "h",
                "trigger": {"type": "interval", "seconds": 5},
                "tags": "a,b",
            },
            "tags",
        ),
        (
            {
                "name": "x",
                "handler": "h",
                "trigger": {"type": "interval", "seconds": 5},
                "overlap": "sometimes",
            },
            "overlap",
        ),
        ({"name": "", "handler": "h", "trigger": {"type": "interval", "seconds": 5}}, "name"),
        (
            {
                "name": "x",
                "handler": "h",
                "trigger": {"type": "interval", "seconds": 5},
                "colour": "red",
            },
            "colour",
        ),
        (
            {
                "name": "x",
                "handler": "h",
                "trigger": {"type": "once", "runAt": "2023-01-01T00:00:00Z"},
            },
            "trigger.runAt",
        ),
    ]
    for spec, field in cases:
        with pytest.raises(TaskValidationError) as info:
            fake_scheduler.create_task(spec)
        assert info.value.field == field, (spec, info.value)
    assert fake_scheduler.list_tasks() == []


async def test_list_tasks_filters(fake_scheduler: Scheduler) -> None:
    fake_scheduler.register_handler("h", lambda: None)
    a = fake_scheduler.create_task(
        name="a", handler="h", tags=["x", "y"], trigger={"type": "interval", "seconds": 5}
    )
    b = fake_scheduler.create_task(
        name="b", handler="h", tags=["x"], enabled=False, trigger={"type": "interval", "seconds": 5}
    )
    assert {t.name for t in fake_scheduler.list_tasks(tags=["x"])} == {"a", "b"}
    assert fake_scheduler.list_tasks(tags=["x", "y"]) == [a]
    assert fake_scheduler.list_tasks(status="paused") == [b]
    with pytest.raises(TaskValidationError, match="status must be one of"):
        fake_scheduler.list_tasks(status="sleeping")


async def test_once_task_completes_and_stays_completed(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    runs: list[int] = []
    fake_scheduler.register_handler("h", lambda: runs.append(1))
    spec = {
        "name": "once",
        "handler": "h",
        "trigger": {"type": "once", "runAt": "2024-01-01T01:00:00Z"},
    }
    task = fake_scheduler.create_task(spec)
    await fake_clock.advance(2 * 3600)
    assert runs == [1] and task.status is TaskStatus.COMPLETED and task.next_run_at is None
    # The cell runs again days later with the same runAt: accepted, nothing changes.
    await fake_clock.advance(3 * 86400)
    again = fake_scheduler.create_task(spec)
    assert again.status is TaskStatus.COMPLETED
    await fake_clock.advance(86400)
    assert runs == [1]


async def test_once_within_five_minutes_past_fires_at_once(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    runs: list[int] = []
    fake_scheduler.register_handler("h", lambda: runs.append(1))
    past = (fake_clock.now_datetime() - timedelta(minutes=4)).isoformat()
    fake_scheduler.create_task(name="late", handler="h", trigger={"type": "once", "runAt": past})
    await fake_clock.advance(0)
    assert runs == [1]


async def test_delete_running_task_cancels_and_keeps_history(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    async def slow(ctx: TaskContext) -> None:
        await ctx.signal.wait()

    fake_scheduler.register_handler("slow", slow)
    task = fake_scheduler.create_task(
        name="slow", handler="slow", trigger={"type": "interval", "seconds": 60}
    )
    await fake_clock.advance(60)
    (ex,) = fake_scheduler.get_executions(task.id)
    assert ex.status is ExecutionStatus.RUNNING
    fake_scheduler.delete_task(task.id)
    assert ex.cancelling and ex.reason == "task deleted"  # its handler is winding down
    await settle()
    assert ex.status is ExecutionStatus.CANCELLED and ex.reason == "task deleted"
    assert fake_scheduler.get_execution(ex.id) is ex
    with pytest.raises(TaskNotFoundError):
        fake_scheduler.get_task(task.id)
    await fake_clock.advance(600)
    assert fake_clock.pending_timers() == 0


async def test_handler_signatures(fake_scheduler: Scheduler) -> None:
    seen: list[object] = []
    fake_scheduler.register_handler("zero", lambda: seen.append("zero"))
    fake_scheduler.register_handler("one", lambda ctx: seen.append(ctx.task_name))
    fake_scheduler.register_handler("two", lambda args, ctx: seen.append(args))
    for handler in ("zero", "one", "two"):
        t = fake_scheduler.create_task(
            name=handler,
            handler=handler,
            args={"k": 1},
            trigger={"type": "event", "eventType": "e"},
        )
        await fake_scheduler.wait_for(fake_scheduler.run_task_now(t.id), timeout=5)
    assert seen == ["zero", "one", {"k": 1}]


async def test_start_without_loop_is_a_clear_error() -> None:
    import asyncio

    from cognia_nb import SchedulerStateError

    scheduler = Scheduler()

    def in_thread() -> None:
        with pytest.raises(SchedulerStateError, match="needs a running asyncio event loop"):
            scheduler.start()

    await asyncio.to_thread(in_thread)
    scheduler.close()
