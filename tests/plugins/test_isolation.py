"""A plugin's context is a capability, not a view: nothing reachable from it (two levels of
``dir()``, private names included) leads to another plugin's tasks, the identity is fixed,
reserved ids are refused and an emit's source is the plugin's own id."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import pytest_asyncio

from cognia_nb import (
    ExecutionNotFoundError,
    ManifestError,
    Scheduler,
    TaskContext,
    TaskNotFoundError,
    define_plugin,
    load_plugin,
)
from cognia_nb._model.task import Execution, Task
from cognia_nb.plugins import LoadedPlugin, Plugin, PluginContext, PluginLoadError, scheduled
from cognia_nb.stores import Store
from cognia_nb.testing import FakeClock

CAPS = ["scheduler"]


@pytest_asyncio.fixture
async def scheduler() -> AsyncIterator[Scheduler]:
    s = Scheduler(clock=FakeClock(datetime(2024, 6, 3, 8, tzinfo=UTC)), timezone="UTC").start()
    yield s
    await s.stop()
    s.close()


def _plugin(seen: dict[str, Any]) -> Any:
    def activate(context: PluginContext) -> None:
        seen["context"] = context
        context.scheduler.register_handler("h", lambda ctx: seen.setdefault("task_ctx", ctx))
        context.scheduler.create_task(
            {"name": "job", "handler": "h", "trigger": {"type": "event", "eventType": "go"}}
        )

    return define_plugin(activate)


@pytest_asyncio.fixture
async def two(scheduler: Scheduler) -> tuple[LoadedPlugin, LoadedPlugin, dict[str, Any]]:
    seen_a: dict[str, Any] = {}
    a = load_plugin(_plugin(seen_a), scheduler, manifest={"name": "a", "capabilities": CAPS})
    b = load_plugin(_plugin({}), scheduler, manifest={"name": "b", "capabilities": CAPS})
    await scheduler.wait_for(scheduler.run_task_now(b.tasks[0].id), timeout=5)
    await scheduler.wait_for(scheduler.run_task_now(a.tasks[0].id), timeout=5)
    return a, b, seen_a


def _walk(root: object, depth: int = 2) -> Iterator[tuple[str, object]]:
    """Every attribute reachable from ``root`` through ``dir()`` (dunder and private names
    included), ``depth`` levels deep, with its path."""
    frontier: list[tuple[str, object]] = [("ctx", root)]
    seen: set[int] = {id(root)}
    for _ in range(depth):
        nxt: list[tuple[str, object]] = []
        for path, obj in frontier:
            for name in dir(obj):
                try:
                    value = getattr(obj, name)
                except Exception:  # a refused capability, a property that raises: nothing
                    continue
                if id(value) in seen:
                    continue
                seen.add(id(value))
                nxt.append((f"{path}.{name}", value))
                yield f"{path}.{name}", value
        frontier = nxt


def _forbidden(scheduler: Scheduler, b: LoadedPlugin) -> tuple[set[int], set[str]]:
    """Ids of objects that would give another plugin's tasks away, and b's task/exec ids."""
    b_tasks = scheduler.list_tasks(plugin_id="b")
    b_execs = [e for t in b_tasks for e in scheduler.get_executions(t.id, 100)]
    objects: list[object] = [scheduler, scheduler.store, scheduler._tasks, scheduler._handlers,
                             scheduler._runner, scheduler._dispatcher, scheduler._firing,
                             *b_tasks, *b_execs]  # fmt: skip
    objects += [h for (pid, _), h in scheduler._handlers.items() if pid == "b"]
    return {id(o) for o in objects}, {t.id for t in b_tasks} | {e.id for e in b_execs}


def _leaks(value: object, bad: set[int], b_ids: set[str]) -> bool:
    if id(value) in bad or isinstance(value, Scheduler | Store):
        return True
    if isinstance(value, Task | Execution):
        return value.plugin_id != "a" or value.id in b_ids
    if isinstance(value, dict):
        items: list[object] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        return False
    return any(_leaks(i, bad, b_ids) for i in items if not isinstance(i, str | int | float))


@pytest.mark.parametrize("root", ["context", "scheduler", "task_context"])
async def test_nothing_two_dir_levels_from_a_plugin_reaches_another_plugins_tasks(
    scheduler: Scheduler, two: tuple[LoadedPlugin, LoadedPlugin, dict[str, Any]], root: str
) -> None:
    _, b, seen_a = two
    start = {"context": seen_a["context"], "scheduler": seen_a["context"].scheduler,
             "task_context": seen_a["task_ctx"]}[root]  # fmt: skip
    assert isinstance(seen_a["task_ctx"], TaskContext)
    bad, b_ids = _forbidden(scheduler, b)
    reached = list(_walk(start))
    assert len(reached) > 60  # the walk really went through dunder and private names
    leaks = [path for path, value in reached if _leaks(value, bad, b_ids)]
    assert leaks == []


async def test_the_one_door_refuses_everything_but_the_api(
    scheduler: Scheduler, two: tuple[LoadedPlugin, LoadedPlugin, dict[str, Any]]
) -> None:
    a, b, seen_a = two
    door = seen_a["context"].scheduler._call
    for name in ("release", "own", "_s", "scheduler", "_unregisters", "__init__", "__class__"):
        with pytest.raises(AttributeError, match=f"no operation {name!r}"):
            door(name)
    (b_task,) = b.tasks
    b_exec = scheduler.get_latest_execution(b_task.id)
    assert b_exec is not None
    for op in ("get_task", "pause_task", "resume_task", "delete_task", "run_task_now",
               "get_latest_execution"):  # fmt: skip
        with pytest.raises(TaskNotFoundError, match=repr(b_task.id)):
            door(op, b_task.id)
    with pytest.raises(TaskNotFoundError, match=repr(b_task.id)):
        door("get_executions", b_task.id, 10)
    for op in ("get_execution", "cancel_execution"):
        with pytest.raises(ExecutionNotFoundError, match=repr(b_exec.id)):
            door(op, b_exec.id)
    assert [t.id for t in door("list_tasks", None, None)] == [t.id for t in a.tasks]


async def test_tasks_a_plugin_gets_are_snapshots_it_cannot_donate(
    scheduler: Scheduler, two: tuple[LoadedPlugin, LoadedPlugin, dict[str, Any]]
) -> None:
    _, b, seen_a = two
    facade = seen_a["context"].scheduler
    (mine,) = facade.list_tasks()
    mine.plugin_id = "b"  # try to hand the task (and its args) to b's handler "h"
    mine.metadata["x"] = 1
    created = facade.create_task(name="second", handler="h", trigger={"type": "interval",
                                                                      "seconds": 60})  # fmt: skip
    created.plugin_id = "b"
    assert {t.plugin_id for t in scheduler.list_tasks(plugin_id="a")} == {"a"}
    assert len(scheduler.list_tasks(plugin_id="a")) == 2
    assert [t.name for t in b.tasks] == ["job"]
    assert scheduler.get_task(mine.id).metadata == {}
    ex = await facade.wait_for(facade.run_task_now(mine.id), timeout=5)
    assert ex.plugin_id == "a" and ex.status == "succeeded"
    ex.plugin_id = "b"
    assert scheduler.get_execution(ex.id).plugin_id == "a"


async def test_the_plugin_id_and_scheduler_cannot_be_rebound(
    scheduler: Scheduler, two: tuple[LoadedPlugin, LoadedPlugin, dict[str, Any]]
) -> None:
    _, b, seen_a = two
    context = seen_a["context"]
    facade = context.scheduler
    # the escape hatches are gone
    for target, name in ((facade, "_s"), (facade, "_scheduler"), (context, "_scheduler"),
                         (context, "_s"), (facade, "__dict__"), (context, "__dict__")):  # fmt: skip
        assert not hasattr(target, name), name
    attempts = [(facade, "plugin_id"), (facade, "_call"), (facade, "_s"), (context, "plugin_id"),
                (context, "scheduler"), (context, "_scheduler"), (context, "_facade"),
                (context, "_plugin_id")]  # fmt: skip
    for target, name in attempts:
        with pytest.raises(AttributeError, match=r"is read-only|has no setter|no attribute"):
            setattr(target, name, "b")
        with pytest.raises(AttributeError):
            delattr(target, name)
    # Going around __setattr__ rebinds only the plugin's own view, never the scope behind it.
    object.__setattr__(context, "_plugin_id", "b")
    assert [t.plugin_id for t in facade.list_tasks()] == ["a"]
    assert facade.plugin_id == "a"
    with pytest.raises(TaskNotFoundError):
        facade.delete_task(b.tasks[0].id)
    assert len(b.tasks) == 1


async def test_without_the_capability_there_is_no_scheduler_to_reach(scheduler: Scheduler) -> None:
    seen: dict[str, Any] = {}

    def activate(context: PluginContext) -> None:
        seen["context"] = context

    load_plugin(define_plugin(activate), scheduler, manifest={"name": "nocap"})
    context = seen["context"]
    assert context._facade is None
    names = [path for path, value in _walk(context) if isinstance(value, Scheduler)
             or type(value).__name__ in ("PluginScheduler", "PluginScope")]  # fmt: skip
    assert names == []


@pytest.mark.parametrize(
    "name", ["default", "notebook", "scheduler", "kernel", "user", "Default", "NOTEBOOK"]
)
def test_reserved_ids_are_refused_in_manifests(name: str) -> None:
    with pytest.raises(ManifestError, match=rf"manifest name: '{name}' is reserved.*pick another"):
        from cognia_nb.plugins import parse_manifest

        parse_manifest({"name": name, "capabilities": CAPS})


@pytest.mark.parametrize("pid", ["default", "notebook", "notebook:/work/x.ipynb", "scheduler",
                                 "kernel"])  # fmt: skip
async def test_reserved_ids_are_refused_however_they_are_given(
    scheduler: Scheduler, pid: str, tmp_path: Path
) -> None:
    user = scheduler.create_task(name="mine", handler=print, trigger={"type": "interval",
                                                                    "seconds": 60})  # fmt: skip
    with pytest.raises(PluginLoadError, match=f"plugin id '{pid}' is reserved"):
        load_plugin(_plugin({}), scheduler, plugin_id=pid)
    directory = tmp_path / pid.replace(":", "_").replace("/", "_")
    if ":" not in pid:  # a directory without plugin.json is named after the directory
        directory = tmp_path / pid
        directory.mkdir()
        (directory / "plugin.py").write_text(
            "def activate(context):\n"
            "    for t in context.scheduler.list_tasks():\n"
            "        context.scheduler.delete_task(t.id)\n"
        )
        with pytest.raises(PluginLoadError, match=f"plugin id '{pid}' is reserved"):
            load_plugin(directory, scheduler)
    assert scheduler.get_task(user.id) is user  # the user's task is untouched
    assert [t.plugin_id for t in scheduler.list_tasks()] == ["default"]


class _Emitter(Plugin):
    manifest: ClassVar[dict[str, Any] | None] = {"name": "emitter", "capabilities": CAPS}

    @scheduled(interval=60)
    def tick(self) -> None:
        pass


async def test_an_emit_from_a_plugin_carries_its_own_id_as_source(scheduler: Scheduler) -> None:
    sources: list[str] = []

    async def on_event(ctx: TaskContext) -> None:
        assert ctx.event is not None
        sources.append(ctx.event.source)

    scheduler.register_handler("listen", on_event)
    forged = scheduler.create_task(name="only from scheduler", handler="listen",
                                   trigger={"type": "event", "eventType": "task:succeeded",
                                            "eventSource": "scheduler"})  # fmt: skip
    mine = scheduler.create_task(name="any source", handler="listen",
                                 trigger={"type": "event", "eventType": "custom"})  # fmt: skip
    loaded = load_plugin(_Emitter(), scheduler)
    facade = loaded.context.scheduler
    assert facade.emit("task:succeeded", {"taskId": "x"}) == []  # not the scheduler's event
    assert scheduler.get_latest_execution(forged.id) is None
    with pytest.raises(TypeError, match="source"):
        facade.emit("custom", None, source="scheduler")  # type: ignore[call-arg]
    (xid,) = facade.emit("custom", {"n": 1})
    await scheduler.wait_for(xid, timeout=5)
    assert sources[0] == "emitter"
    assert scheduler.get_latest_execution(mine.id) is not None
