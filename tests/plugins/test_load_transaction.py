"""Loading a plugin is a transaction: a failed load (whatever the plugin raised, SystemExit and
KeyboardInterrupt included) leaves the scheduler exactly as it was before it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from cognia_nb import Scheduler, TaskValidationError, define_plugin, load_plugin
from cognia_nb.plugins import Plugin, PluginContext, PluginLoadError, scheduled
from cognia_nb.testing import FakeClock
from cognia_nb.testing.fixtures import stop_on_fake_clock

CAPS = ["scheduler"]


class _Mine(BaseException):
    """A plugin's own BaseException subclass."""


RAISED: list[BaseException] = [SystemExit(0), SystemExit("bye"), KeyboardInterrupt(),
                               GeneratorExit(), asyncio.CancelledError(), _Mine("x"),
                               RuntimeError("boom")]  # fmt: skip


def _ids(exc: BaseException) -> str:
    return f"{type(exc).__name__}{exc.args!r}"


def _expected(exc: BaseException) -> str:
    return f"{type(exc).__name__}({', '.join(repr(a) for a in exc.args)})"


@pytest_asyncio.fixture
async def scheduler() -> AsyncIterator[Scheduler]:
    s = Scheduler(clock=FakeClock(datetime(2024, 6, 3, 8, tzinfo=UTC)), timezone="UTC").start()
    yield s
    await stop_on_fake_clock(s, s.clock)  # type: ignore[arg-type]
    s.close()


def _manifest(seconds: float, timeout: float) -> dict[str, Any]:
    return {"name": "p", "capabilities": CAPS, "scheduledTasks": [
        {"name": "poll", "handler": "poll", "trigger": {"type": "interval", "seconds": seconds},
         "timeout": timeout},
    ]}  # fmt: skip


def _version(tag: str, *, fail: BaseException | None = None,
             extra: Callable[[PluginContext], None] | None = None) -> Any:  # fmt: skip
    def activate(context: PluginContext) -> None:
        context.scheduler.register_handler("poll", lambda: tag)
        if extra is not None:
            extra(context)
        if fail is not None:
            raise fail

    return define_plugin(activate)


@pytest.mark.parametrize("exc", RAISED, ids=_ids)
async def test_tasks_created_before_activate_raises_are_gone(
    scheduler: Scheduler, exc: BaseException
) -> None:
    def extra(context: PluginContext) -> None:
        context.scheduler.register_handler("other", print)
        context.scheduler.create_task(name="early", handler="other",
                                      trigger={"type": "interval", "seconds": 5})  # fmt: skip

    with pytest.raises(PluginLoadError, match=rf"plugin 'p' cannot load: its code raised "
                       rf"{_expected(exc).replace('(', '[(]').replace(')', '[)]')}; nothing of "
                       "this load was kept") as caught:  # fmt: skip
        load_plugin(_version("v1", fail=exc, extra=extra), scheduler, _manifest(60, 10))
    assert caught.value.__cause__ is exc
    assert scheduler.list_tasks() == []
    assert scheduler._handlers == {}


async def test_a_failed_reload_leaves_the_previous_version_exactly_as_it_was(
    scheduler: Scheduler,
) -> None:
    v1 = load_plugin(_version("v1"), scheduler, _manifest(3600, 10))
    (before,) = v1.tasks
    state = (before.trigger, before.timeout, before.next_run_ts, before.status, before.handler)

    def extra(context: PluginContext) -> None:
        context.scheduler.create_task(name="new one", handler="poll",
                                      trigger={"type": "interval", "seconds": 1})  # fmt: skip
        context.scheduler.pause_task("poll")  # v1's task, paused by v2's activate

    with pytest.raises(PluginLoadError, match=r"RuntimeError\('v2 broken'\)"):
        load_plugin(_version("v2", extra=extra, fail=RuntimeError("v2 broken")), scheduler,
                    _manifest(5, 99))  # fmt: skip

    def change_then_fail(context: PluginContext) -> None:
        context.scheduler.create_task(name="poll", handler="poll", timeout=99,
                                      trigger={"type": "interval", "seconds": 5})  # fmt: skip
        context.scheduler.pause_task("poll")
        raise SystemExit(0)

    with pytest.raises(PluginLoadError, match=r"SystemExit\(0\)"):
        load_plugin(_version("v2", extra=change_then_fail), scheduler, _manifest(5, 99))
    (after,) = scheduler.list_tasks(plugin_id="p")
    assert after is before  # the same task object, id and history
    assert (after.trigger, after.timeout, after.next_run_ts, after.status, after.handler) == state
    assert after.trigger.seconds == 3600 and after.timeout == 10
    assert not after.handler_missing
    ex = await scheduler.wait_for(scheduler.run_task_now(after.id), timeout=5)
    assert ex.output == "v1"  # v1's handler still serves the task
    stored = {t.id: t for t in scheduler.store.load_tasks()}
    assert stored[after.id].timeout == 10 and stored[after.id].trigger.seconds == 3600
    v1.unload()  # the earlier load still owns its handler and can take it back
    assert scheduler._handlers == {}


async def test_a_failed_reload_brings_back_a_task_it_deleted(scheduler: Scheduler) -> None:
    load_plugin(_version("v1"), scheduler, _manifest(60, 10))
    (task,) = scheduler.list_tasks()
    first = await scheduler.wait_for(scheduler.run_task_now(task.id), timeout=5)

    def delete_then_fail(context: PluginContext) -> None:
        context.scheduler.delete_task("poll")
        raise KeyboardInterrupt

    with pytest.raises(PluginLoadError, match=r"KeyboardInterrupt\(\)"):
        load_plugin(_version("v2", extra=delete_then_fail), scheduler, {"name": "p",
                    "capabilities": CAPS})  # fmt: skip
    (back,) = scheduler.list_tasks()
    assert back.id == task.id and back.trigger.seconds == 60 and back.next_run_ts is not None
    assert [e.id for e in scheduler.get_executions(back.id)] == [first.id]
    assert [t.id for t in scheduler.store.load_tasks()] == [task.id]


async def test_a_failed_load_cancels_the_runs_it_started(scheduler: Scheduler) -> None:
    started: list[str] = []

    def run_then_fail(context: PluginContext) -> None:
        async def slow() -> None:
            await asyncio.sleep(3600)

        context.scheduler.register_handler("slow", slow)
        task = context.scheduler.create_task(
            name="slow", handler="slow", trigger={"type": "event", "eventType": "x"}
        )
        started.append(context.scheduler.run_task_now(task.id))
        raise GeneratorExit

    with pytest.raises(PluginLoadError, match=r"GeneratorExit\(\)"):
        load_plugin(define_plugin(run_then_fail), scheduler, {"name": "q", "capabilities": CAPS})
    waiting = asyncio.ensure_future(scheduler.wait_for(started[0], timeout=5))
    await scheduler.clock.advance(scheduler.cancel_grace)  # type: ignore[attr-defined]
    ex = await waiting  # the handler ignored its signal: cancelled once the grace is over
    assert ex.status == "cancelled"
    assert scheduler.list_tasks() == []


async def test_a_cognia_error_from_activate_keeps_its_type(scheduler: Scheduler) -> None:
    def bad_task(context: PluginContext) -> None:
        context.scheduler.register_handler("h", print)
        context.scheduler.create_task(name="ok", handler="h",
                                      trigger={"type": "interval", "seconds": 5})  # fmt: skip
        context.scheduler.create_task(name="bad", handler="h",
                                      trigger={"type": "interval", "seconds": -1})  # fmt: skip

    with pytest.raises(TaskValidationError, match=r"seconds.*-1"):
        load_plugin(define_plugin(bad_task), scheduler, {"name": "r", "capabilities": CAPS})
    assert scheduler.list_tasks() == [] and scheduler._handlers == {}


class _FailsOnLoad(Plugin):
    manifest = None

    @scheduled(interval=30)
    def tick(self) -> str:
        return "tick"

    def on_load(self, context: PluginContext) -> None:
        raise SystemExit(3)


async def test_scheduled_methods_are_rolled_back_when_on_load_exits(scheduler: Scheduler) -> None:
    with pytest.raises(PluginLoadError, match=r"'_FailsOnLoad' cannot load.*SystemExit\(3\)"):
        load_plugin(_FailsOnLoad, scheduler)
    assert scheduler.list_tasks() == [] and scheduler._handlers == {}


class _ExitsInInit(Plugin):
    def __init__(self) -> None:
        raise KeyboardInterrupt


async def test_a_class_that_exits_in_init_is_a_refused_load(scheduler: Scheduler) -> None:
    with pytest.raises(PluginLoadError, match=r"_ExitsInInit cannot be created: KeyboardInterrupt"):
        load_plugin(_ExitsInInit, scheduler)


@pytest.mark.parametrize("code", ["import sys\nsys.exit(0)\n", "raise KeyboardInterrupt\n",
                                  "raise SystemExit('bye')\n"])  # fmt: skip
async def test_base_exceptions_at_import_are_a_refused_load(
    scheduler: Scheduler, tmp_path: Path, code: str
) -> None:
    (tmp_path / "plugin.json").write_text(json.dumps({"name": "imp", "capabilities": CAPS}))
    (tmp_path / "plugin.py").write_text(code + "def activate(context):\n    pass\n")
    with pytest.raises(PluginLoadError, match=r"raised while importing: (SystemExit|Keyboard)"):
        load_plugin(tmp_path, scheduler)
    assert not [m for m in __import__("sys").modules if "cognia_nb_plugin_" in m
                and str(tmp_path).replace("/", "_") in m]  # fmt: skip


@pytest.mark.parametrize("exc", [SystemExit(0), KeyboardInterrupt(), _Mine("u")], ids=_ids)
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_on_unload_that_exits_is_logged_and_the_unload_completes(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture, exc: BaseException, kind: str
) -> None:
    def on_unload() -> None:
        raise exc

    async def on_unload_async() -> None:
        await asyncio.sleep(0)
        raise exc

    def activate(context: PluginContext) -> dict[str, Any]:
        context.scheduler.register_handler("h", print)
        return {"on_unload": on_unload if kind == "sync" else on_unload_async}

    loaded = load_plugin(define_plugin(activate), scheduler, {"name": "u", "capabilities": CAPS})
    with caplog.at_level(logging.ERROR, logger="cognia_nb.plugins"):
        loaded.unload()
        for _ in range(5):
            await asyncio.sleep(0)
    assert scheduler._handlers == {} and not loaded.loaded
    assert "on_unload raised" in caplog.text and type(exc).__name__ in caplog.text


async def test_a_plugin_hook_that_exits_is_a_logged_hook_failure(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    import sys

    def activate(context: PluginContext) -> dict[str, Any]:
        context.scheduler.register_handler("h", lambda: "ran")
        context.scheduler.create_task(name="t", handler="h",
                                      trigger={"type": "event", "eventType": "go"})  # fmt: skip
        return {"onScheduledTaskStart": lambda tid, xid: sys.exit(0),
                "on_scheduled_task_complete": lambda tid, xid, r: (_ for _ in ()).throw(
                    KeyboardInterrupt())}  # fmt: skip

    loaded = load_plugin(define_plugin(activate), scheduler, {"name": "hk", "capabilities": CAPS})
    with caplog.at_level(logging.ERROR, logger="cognia_nb.hooks"):
        for _ in range(2):
            ex = await scheduler.wait_for(scheduler.run_task_now(loaded.tasks[0].id), timeout=5)
            assert ex.status == "succeeded" and ex.output == "ran"
    assert caplog.text.count("hook task_start listener") == 2
    assert caplog.text.count("hook task_complete listener") == 2
    assert "SystemExit" in caplog.text and "KeyboardInterrupt" in caplog.text
