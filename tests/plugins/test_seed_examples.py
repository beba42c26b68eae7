"""Every example of the seed document (../shared/spec/plugin-scheduler.md), in Python."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

import cognia_nb
from cognia_nb import (
    ExecutionStatus,
    Plugin,
    PluginContext,
    Scheduler,
    TaskNotFoundError,
    TaskStatus,
    define_plugin,
    load_plugin,
    scheduled,
)
from cognia_nb.testing import FakeClock

SEED_MANIFEST = """
{
  "name": "my-plugin",
  "version": "1.0.0",
  "capabilities": ["scheduler"],
  "scheduledTasks": [
    {
      "name": "Daily Report",
      "description": "Generate daily analytics report",
      "handler": "dailyReport",
      "trigger": { "type": "cron", "expression": "0 9 * * *" },
      "defaultEnabled": true,
      "retry": { "maxAttempts": 3, "delaySeconds": 60 },
      "timeout": 300,
      "tags": ["reports"]
    }
  ]
}
"""


@pytest.fixture
def clock() -> FakeClock:
    # The seed's once task is for 2024-12-31: run the examples before it.
    return FakeClock(datetime(2024, 6, 3, 8, 0, tzinfo=UTC))  # a Monday


@pytest.fixture
async def scheduler(clock: FakeClock):  # type: ignore[no-untyped-def]
    s = Scheduler(clock=clock, timezone="UTC").start()
    yield s
    await s.stop()
    s.close()


# -- TypeScript "Basic Example", through define_plugin ---------------------------------------


def basic_activate(context: PluginContext) -> dict[str, Any]:
    async def daily_report(args: Any, task_context: Any) -> dict[str, Any]:
        task_context.log("info", "Generating daily report...")
        task_context.report_progress(0, "Starting")
        task_context.report_progress(50, "Processing data")
        task_context.report_progress(100, "Done")
        return {"success": True, "output": {"reportId": "123"},
                "metrics": {"itemsProcessed": 100}}  # fmt: skip

    unregister = context.scheduler.register_handler("daily-report", daily_report)
    context.scheduler.create_task({
        "name": "Daily Report",
        "description": "Generate daily analytics report",
        "handler": "daily-report",
        "trigger": {"type": "cron", "expression": "0 9 * * *"},  # Daily at 9am
        "retry": {"maxAttempts": 3, "delaySeconds": 60},
        "timeout": 300,
        "tags": ["reports", "daily"],
    })  # fmt: skip
    return {"on_unload": unregister}


async def test_basic_example(scheduler: Scheduler, clock: FakeClock) -> None:
    plugin = load_plugin(define_plugin(basic_activate), scheduler,
                         manifest={"name": "basic", "capabilities": ["scheduler"]})  # fmt: skip
    (task,) = plugin.tasks
    assert task.plugin_id == "basic" and task.tags == ("reports", "daily")
    await clock.advance(3600)  # 09:00
    ex = scheduler.get_latest_execution(task.id)
    assert ex is not None and ex.status is ExecutionStatus.SUCCEEDED
    assert ex.output == {"reportId": "123"} and ex.metrics == {"itemsProcessed": 100}
    assert ex.progress == 100 and ex.logs[0].message == "Generating daily report..."
    plugin.unload()
    assert scheduler.get_task(task.id).handler_missing  # onUnload unregistered it


async def test_trigger_type_examples(scheduler: Scheduler, clock: FakeClock) -> None:
    def activate(context: PluginContext) -> None:
        s = context.scheduler
        for handler in ("sync-data", "health-check", "cleanup", "session-handler"):
            s.register_handler(handler, lambda ctx: None)
        s.create_task({"name": "Hourly Sync", "handler": "sync-data",
                       "trigger": {"type": "cron", "expression": "0 * * * *",
                                   "timezone": "America/New_York"}})  # fmt: skip
        s.create_task({"name": "Health Check", "handler": "health-check",
                       "trigger": {"type": "interval", "seconds": 300}})  # fmt: skip
        s.create_task(
            {
                "name": "New Year Cleanup",
                "handler": "cleanup",
                "trigger": {"type": "once", "runAt": "2024-12-31T23:59:59Z"},
            }
        )
        s.create_task({"name": "On Session Create", "handler": "session-handler",
                       "trigger": {"type": "event", "eventType": "session:created",
                                   "eventSource": "core"}})  # fmt: skip

    loaded = load_plugin(
        define_plugin({"activate": activate}),
        scheduler,
        manifest={"name": "triggers", "capabilities": ["scheduler"]},
    )
    tasks = {t.name: t for t in loaded.context.scheduler.list_tasks()}
    assert tasks["Hourly Sync"].describe() == "Every hour (America/New_York)"
    assert tasks["Health Check"].describe() == "Every 5 minutes"
    assert tasks["New Year Cleanup"].next_run_at == datetime(2024, 12, 31, 23, 59, 59,
                                                             tzinfo=UTC)  # fmt: skip
    ids = scheduler.emit("session:created", {"id": "s1"}, source="core")
    assert len(ids) == 1


async def test_task_management_and_history_examples(scheduler: Scheduler) -> None:
    seen: dict[str, Any] = {}

    def activate(context: PluginContext) -> None:
        s = context.scheduler
        s.register_handler("report", lambda args, ctx: {"success": True, "output": {"ok": 1}})
        task = s.create_task({"name": "r", "handler": "report", "tags": ["reports"],
                              "trigger": {"type": "interval", "seconds": 3600}})  # fmt: skip
        seen["tasks"] = s.list_tasks({"status": "active", "tags": ["reports"]})
        seen["task"] = s.get_task(task.id)
        s.pause_task(task.id)
        seen["paused"] = s.get_task(task.id).status
        s.resume_task(task.id)
        seen["execution_id"] = s.run_task_now(task.id)

    loaded = load_plugin(
        define_plugin(activate), scheduler, manifest={"name": "mgmt", "capabilities": ["scheduler"]}
    )
    s = loaded.context.scheduler
    assert [t.name for t in seen["tasks"]] == ["r"]
    assert seen["paused"] is TaskStatus.PAUSED
    execution = await s.wait_for(seen["execution_id"], timeout=5)
    task_id = seen["task"].id
    assert (
        s.get_executions(task_id, 10) == [s.get_execution(execution.id)]
        or len(s.get_executions(task_id, 10)) == 1
    )
    assert s.get_latest_execution(task_id).output == {"ok": 1}  # type: ignore[union-attr]
    assert s.cancel_execution(execution.id) is False  # already finished
    s.delete_task(task_id)
    with pytest.raises(TaskNotFoundError):
        s.get_task(task_id)


async def test_hooks_example(scheduler: Scheduler, clock: FakeClock) -> None:
    calls: list[str] = []

    def activate(context: PluginContext) -> dict[str, Any]:
        context.scheduler.register_handler("ok", lambda: "fine")
        context.scheduler.register_handler("bad", lambda: 1 / 0)
        return {
            "onScheduledTaskStart": lambda task_id, execution_id: calls.append("start"),
            "onScheduledTaskComplete": lambda task_id, ex_id, result: calls.append(
                f"complete {result.output}"
            ),
            "onScheduledTaskError": lambda task_id, ex_id, error: calls.append(f"error {error}"),
            "onScheduledTaskCreate": lambda task: calls.append(f"create {task.name}"),
            "onScheduledTaskPause": lambda task_id: calls.append("pause"),
            "onScheduledTaskResume": lambda task_id: calls.append("resume"),
            "onUnload": lambda: calls.append("unload"),
        }

    loaded = load_plugin(
        define_plugin(activate),
        scheduler,
        manifest={"name": "hooks", "capabilities": ["scheduler"]},
    )
    s = loaded.context.scheduler
    ok = s.create_task(
        {"name": "ok", "handler": "ok", "trigger": {"type": "event", "eventType": "x"}}
    )
    bad = s.create_task(
        {"name": "bad", "handler": "bad", "trigger": {"type": "event", "eventType": "y"}}
    )
    await s.wait_for(s.run_task_now(ok.id), timeout=5)
    await s.wait_for(s.run_task_now(bad.id), timeout=5)
    s.pause_task(ok.id)
    s.resume_task(ok.id)
    loaded.unload()
    assert calls == [
        "create ok",
        "create bad",
        "start",
        "complete fine",
        "start",
        "error ZeroDivisionError: division by zero",
        "pause",
        "resume",
        "unload",
    ]


# -- the Python SDK example, as written (but the import line) ---------------------------------

Status = type("Status", (), {})


class MyPlugin(Plugin):
    @scheduled(cron="0 9 * * *", description="Daily report generation")
    async def daily_report(self, context):  # type: ignore[no-untyped-def]
        self.logger.info("Generating daily report...")
        context.report_progress(50, "Processing data")
        return {"success": True, "output": {"report_id": "123"}}

    @scheduled(interval=3600, description="Hourly health check")
    async def health_check(self, context):  # type: ignore[no-untyped-def]
        status = await self.check_health()
        return {"success": status.ok, "output": status.details}

    @scheduled(once_at="2024-12-31T23:59:59Z", description="New year task")
    async def new_year_task(self, context):  # type: ignore[no-untyped-def]
        return {"success": True, "output": {"message": "Happy New Year!"}}

    async def check_health(self) -> Any:  # the seed leaves this to the reader
        status = Status()
        status.ok = True  # type: ignore[attr-defined]
        status.details = {"db": "up"}  # type: ignore[attr-defined]
        return status


async def test_python_sdk_example(scheduler: Scheduler, clock: FakeClock) -> None:
    loaded = load_plugin(MyPlugin, scheduler)
    assert loaded.plugin_id == "MyPlugin"
    tasks = {t.name: t for t in loaded.tasks}
    assert set(tasks) == {"daily_report", "health_check", "new_year_task"}
    assert tasks["daily_report"].description == "Daily report generation"
    assert tasks["health_check"].trigger.to_dict() == {
        "type": "interval",
        "seconds": 3600,
        "startAt": clock.now_datetime().isoformat(),
    }
    await clock.advance(3600)
    daily = scheduler.get_latest_execution(tasks["daily_report"].id)
    assert daily is not None and daily.output == {"report_id": "123"}
    health = scheduler.get_latest_execution(tasks["health_check"].id)
    assert health is not None and health.output == {"db": "up"}
    await clock.run_until(datetime(2025, 1, 1, tzinfo=UTC))
    new_year = scheduler.get_latest_execution(tasks["new_year_task"].id)
    assert new_year is not None and new_year.output == {"message": "Happy New Year!"}
    assert scheduler.get_task(tasks["new_year_task"].id).status is TaskStatus.COMPLETED


async def test_seed_manifest_verbatim_finds_the_python_handler(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    loaded = load_plugin(MyPlugin, scheduler, manifest=json.loads(SEED_MANIFEST))
    assert loaded.plugin_id == "my-plugin"
    tasks = {t.name: t for t in loaded.tasks}
    # "dailyReport" in the manifest resolves to the method daily_report; the method then gets
    # no second task of its own.
    assert tasks["Daily Report"].handler == "daily_report"
    assert "daily_report" not in tasks and {"health_check", "new_year_task"} <= set(tasks)
    assert tasks["Daily Report"].retry.max_attempts == 3
    assert tasks["Daily Report"].tags == ("reports",)
    await clock.advance(3600)
    ex = scheduler.get_latest_execution(tasks["Daily Report"].id)
    assert ex is not None and ex.status is ExecutionStatus.SUCCEEDED


def test_public_names() -> None:
    for name in ("Plugin", "scheduled", "define_plugin", "load_plugin", "PluginContext"):
        assert hasattr(cognia_nb, name)
