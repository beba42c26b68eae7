"""Decorator mapping, manifests, scoping, capabilities, loading from directories, unload."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cognia_nb import (
    CapabilityError,
    ExecutionNotFoundError,
    ManifestError,
    Plugin,
    PluginContext,
    Scheduler,
    TaskNotFoundError,
    TaskStatus,
    TaskValidationError,
    define_plugin,
    load_plugin,
    scheduled,
)
from cognia_nb.plugins import PluginLoadError, parse_manifest
from cognia_nb.testing import FakeClock


@pytest.fixture
async def scheduler():  # type: ignore[no-untyped-def]
    s = Scheduler(clock=FakeClock(datetime(2024, 6, 3, 8, tzinfo=UTC)), timezone="UTC").start()
    yield s
    await s.stop()
    s.close()


class Mapped(Plugin):
    @scheduled(cron="30 6 * * MON", name="Weekly", description="d", enabled=False,
               retry_attempts=2, retry_delay=15, timeout=42, tags=["a", "b"],
               timezone="Europe/Berlin", overlap="queue")  # fmt: skip
    def weekly(self, context: Any) -> None:
        return None

    @scheduled(interval=90)
    def plain(self, context: Any) -> None:
        """First line of the docstring.

        More."""


async def test_every_decorator_parameter_is_mapped(scheduler: Scheduler) -> None:
    loaded = load_plugin(Mapped, scheduler)
    tasks = {t.name: t for t in loaded.tasks}
    weekly = tasks["Weekly"]
    assert weekly.handler == "weekly"
    assert weekly.trigger.to_dict() == {"type": "cron", "expression": "30 6 * * MON",
                                        "timezone": "Europe/Berlin"}  # fmt: skip
    assert weekly.description == "d"
    assert weekly.status is TaskStatus.PAUSED  # enabled=False
    assert weekly.retry.max_attempts == 3 and weekly.retry.delay_seconds == 15
    assert weekly.timeout == 42 and weekly.tags == ("a", "b")
    assert str(weekly.overlap) == "queue"
    plain = tasks["plain"]
    assert plain.description == "First line of the docstring."
    assert plain.retry.max_attempts == 1 and plain.retry.delay_seconds == 60
    assert plain.timeout == 300 and plain.status is TaskStatus.ACTIVE


def test_decorator_refuses_ambiguous_triggers() -> None:
    with pytest.raises(TaskValidationError, match="exactly one of cron=, interval=, once_at="):
        scheduled(cron="* * * * *", interval=5)
    with pytest.raises(TaskValidationError, match="got none"):
        scheduled()


def test_decorator_only_attaches() -> None:
    def fn(context: Any) -> None: ...

    assert scheduled(interval=5)(fn) is fn
    assert fn.__cognia_scheduled__.interval == 5  # type: ignore[attr-defined]


GOOD = {
    "name": "my-plugin", "version": "1.0.0", "capabilities": ["scheduler"],
    "scheduledTasks": [
        {"name": "A", "handler": "a", "trigger": {"type": "interval", "seconds": 60}},
        {"name": "B", "handler": "b", "trigger": {"type": "cron", "expression": "0 9 * * *"},
         "defaultEnabled": False},
    ],
}  # fmt: skip


def bad(path: str, value: Any) -> dict[str, Any]:
    """GOOD with the value at a dotted path replaced."""
    data = json.loads(json.dumps(GOOD))
    target: Any = data
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            bad("scheduledTasks[1].trigger.expression", "0 25 * * *"),
            "scheduledTasks[1].trigger.expression",
            r"hour field: 25 is out of range 0-23",
        ),
        (
            bad("scheduledTasks[0].trigger.seconds", -1),
            "scheduledTasks[0].trigger.seconds",
            r"0 < seconds",
        ),
        (
            bad("scheduledTasks[0].retry", {"maxAttempts": 0}),
            "scheduledTasks[0].retry.maxAttempts",
            r"from 1 to 100",
        ),
        (
            bad("scheduledTasks[0].colour", "red"),
            "scheduledTasks[0].colour",
            r"unknown key 'colour'; allowed: args, defaultEnabled",
        ),
        (
            bad("scheduledTasks[0].defaultEnabled", "yes"),
            "scheduledTasks[0].defaultEnabled",
            r"true or false",
        ),
        (bad("scheduledTasks[1].name", "A"), "scheduledTasks[1].name", r"duplicate task name"),
        (
            bad("scheduledTasks[0].trigger.type", "Cron"),
            "scheduledTasks[0].trigger.type",
            r"one of 'cron', 'interval'",
        ),
        (bad("name", "has space"), "name", r"plugin id"),
        (bad("capabilities", ["network"]), "capabilities", r"not the 'scheduler' capability"),
        (bad("main", "../evil.py"), "main", r"relative path to a \.py file"),
        (bad("surprise", 1), "surprise", r"unknown key 'surprise'"),
        (bad("scheduledTasks", {}), "scheduledTasks", r"must be a list"),
    ],
)
def test_manifest_errors_give_the_json_path(data: dict[str, Any], field: str,
                                            message: str) -> None:  # fmt: skip
    with pytest.raises(ManifestError, match=message) as info:
        parse_manifest(data)
    assert info.value.field == field
    assert str(info.value).startswith(f"manifest {field}: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"name": "x", "name": "y"}', r"duplicate key 'name'"),
        ('{"name": "x", "version": NaN}', r"NaN is not valid JSON"),
        ('{"name": "x", "version": Infinity}', r"Infinity is not valid JSON"),
        ("[1, 2]", r"must be a JSON object"),
        ("{" * 40 + "}" * 40, r"deeper than 32|not valid JSON"),
        ('{"name": "x", "description": "' + "a" * 1_000_001 + '"}', r"limit is 1000000"),
        ("{not json", r"not valid JSON"),
    ],
)
def test_manifest_parsing_is_strict(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse_manifest(text)


def test_valid_manifest() -> None:
    manifest = parse_manifest(json.dumps(GOOD))
    assert manifest.name == "my-plugin" and manifest.has_scheduler
    assert [t["enabled"] for t in manifest.tasks] == [True, False]


async def test_plugins_are_scoped(scheduler: Scheduler) -> None:
    heard: dict[str, list[str]] = {"a": [], "b": []}

    def make(key: str) -> Any:
        def activate(context: PluginContext) -> dict[str, Any]:
            context.scheduler.register_handler("h", lambda: key)
            context.scheduler.create_task(
                {
                    "name": "same name",
                    "handler": "h",
                    "trigger": {"type": "event", "eventType": "go"},
                }
            )
            return {"on_scheduled_task_start": lambda tid, xid: heard[key].append(tid)}

        return define_plugin(activate)

    a = load_plugin(make("a"), scheduler, manifest={"name": "a", "capabilities": ["scheduler"]})
    b = load_plugin(make("b"), scheduler, manifest={"name": "b", "capabilities": ["scheduler"]})
    (task_a,), (task_b,) = a.tasks, b.tasks
    assert task_a.id != task_b.id  # same name, different plugins
    sa = a.context.scheduler
    assert [t.id for t in sa.list_tasks()] == [task_a.id]  # snapshots of its own tasks only
    for call in (
        sa.get_task,
        sa.pause_task,
        sa.resume_task,
        sa.run_task_now,
        sa.delete_task,
        sa.get_executions,
        sa.get_latest_execution,
    ):
        with pytest.raises(TaskNotFoundError, match=repr(task_b.id)):
            call(task_b.id)
    xid_b = b.context.scheduler.run_task_now(task_b.id)
    with pytest.raises(ExecutionNotFoundError, match=repr(xid_b)):
        sa.get_execution(xid_b)
    with pytest.raises(ExecutionNotFoundError):
        sa.cancel_execution(xid_b)
    ex_b = await b.context.scheduler.wait_for(xid_b, timeout=5)
    assert ex_b.output == "b"  # b's handler, not a's, despite the same handler name
    assert heard == {"a": [], "b": [task_b.id]}
    assert scheduler.get_task(task_b.id).status is TaskStatus.ACTIVE


async def test_missing_capability_is_refused(scheduler: Scheduler) -> None:
    def activate(context: PluginContext) -> None:
        context.scheduler.register_handler("h", print)

    with pytest.raises(CapabilityError, match=r"no 'scheduler' capability.*plugin\.json"):
        load_plugin(define_plugin(activate), scheduler, manifest={"name": "nocap"})
    assert issubclass(CapabilityError, PermissionError)
    assert scheduler._handlers == {}  # nothing half-registered


async def test_failed_activation_leaves_nothing(scheduler: Scheduler) -> None:
    def activate(context: PluginContext) -> None:
        context.scheduler.register_handler("h", print)
        context.scheduler.create_task(
            {"name": "t", "handler": "h", "trigger": {"type": "interval", "seconds": 5}}
        )
        raise RuntimeError("boom in activate")

    with pytest.raises(
        PluginLoadError, match=r"plugin 'p' cannot load: .*RuntimeError\('boom in activate'\)"
    ) as caught:
        load_plugin(
            define_plugin(activate),
            scheduler,
            manifest={"name": "p", "capabilities": ["scheduler"]},
        )
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert scheduler._handlers == {}
    assert scheduler.list_tasks() == []  # the task made before the raise is gone too


async def test_unload_keeps_tasks_waiting_unless_asked(scheduler: Scheduler) -> None:
    loaded = load_plugin(Mapped, scheduler)
    names = {t.name for t in loaded.tasks}
    loaded.unload()
    assert {t.name for t in scheduler.list_tasks()} == names
    assert all(t.handler_missing for t in scheduler.list_tasks())
    again = load_plugin(Mapped, scheduler)  # handlers come back, the same tasks re-arm
    assert {t.id for t in again.tasks} == {t.id for t in scheduler.list_tasks()}
    assert not any(t.handler_missing for t in scheduler.list_tasks())
    again.unload(delete_tasks=True)
    assert scheduler.list_tasks() == []


async def test_load_from_a_directory(scheduler: Scheduler, tmp_path: Path) -> None:
    plugin_dir = tmp_path / "weather"
    plugin_dir.mkdir()
    (plugin_dir / "plugin.json").write_text(json.dumps({
        "name": "weather", "version": "0.1.0", "capabilities": ["scheduler"], "main": "main.py",
        "scheduledTasks": [{"name": "Fetch", "handler": "fetchWeather",
                            "trigger": {"type": "interval", "seconds": 60}}],
    }))  # fmt: skip
    (plugin_dir / "main.py").write_text(
        "from cognia_nb import define_plugin\n"
        "def activate(context):\n"
        "    context.scheduler.register_handler('fetch_weather', lambda: {'temp': 21})\n"
        "plugin = define_plugin(activate)\n"
    )
    loaded = load_plugin(plugin_dir, scheduler)
    (task,) = loaded.tasks
    assert loaded.plugin_id == "weather" and task.handler == "fetch_weather"
    ex = await scheduler.wait_for(scheduler.run_task_now(task.id), timeout=5)
    assert ex.output == {"temp": 21}


async def test_load_errors(scheduler: Scheduler, tmp_path: Path) -> None:
    with pytest.raises(PluginLoadError, match="does not exist"):
        load_plugin(tmp_path / "nope", scheduler)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PluginLoadError, match=r"has no plugin\.py"):
        load_plugin(empty, scheduler)
    (empty / "plugin.py").write_text("x = 1\n")
    with pytest.raises(PluginLoadError, match="defines no plugin"):
        load_plugin(empty, scheduler)
    (empty / "plugin.py").write_text("raise ValueError('broken module')\n")
    with pytest.raises(PluginLoadError, match="broken module"):
        load_plugin(empty, scheduler)
    with pytest.raises(PluginLoadError, match="cannot load a plugin from 42"):
        load_plugin(42, scheduler)


async def test_expired_one_off_is_skipped_not_fatal() -> None:
    s = Scheduler(clock=FakeClock(datetime(2026, 1, 1, tzinfo=UTC)), timezone="UTC").start()

    class Late(Plugin):
        @scheduled(once_at="2024-12-31T23:59:59Z")
        def party(self, context: Any) -> None: ...

        @scheduled(interval=60)
        def alive(self, context: Any) -> None: ...

    loaded = load_plugin(Late, s)
    assert [t.name for t in loaded.tasks] == ["alive"]
    assert loaded.skipped[0][0] == "party" and "in the past" in loaded.skipped[0][1]
    await s.stop()
    s.close()
