"""One object per firing: the execution a store keeps is the run itself; what plugins and
copies get is a plain Execution; the memory store keeps a bounded ring per task."""

from __future__ import annotations

import copy
import dataclasses

from cognia_nb import Execution, ExecutionStatus, Scheduler, TaskContext
from cognia_nb.plugins._context import snapshot
from cognia_nb.stores import MemoryStore
from cognia_nb.testing import FakeClock


async def test_the_store_keeps_the_firing_itself_without_its_context_or_signal(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    seen: list[TaskContext] = []

    async def handler(ctx: TaskContext) -> str:
        seen.append(ctx)
        running = fake_scheduler.get_execution(ctx.execution_id)
        assert running.status is ExecutionStatus.RUNNING  # not finished during its own step
        return "done"

    fake_scheduler.register_handler("h", handler)
    task = fake_scheduler.create_task(
        name="t", handler="h", trigger={"type": "interval", "seconds": 5}
    )
    await fake_clock.advance(5)
    ex = fake_scheduler.get_latest_execution(task.id)
    assert ex is not None and ex.status is ExecutionStatus.SUCCEEDED and ex.output == "done"
    assert fake_scheduler.store.get_execution(ex.id) is ex
    assert fake_scheduler.get_execution(seen[0].execution_id) is ex
    # the handler's context and signal are not kept with it; the handler's own still works
    assert getattr(ex, "ctx", "absent") is None and getattr(ex, "signal", "absent") is None
    assert seen[0].signal.aborted is False


async def test_a_copy_of_an_execution_is_a_plain_execution_with_the_same_fields(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    async def handler(ctx: TaskContext) -> dict[str, object]:
        ctx.log("info", "hello", n=1)
        return {"success": True, "output": 7, "metrics": {"rows": 3}}

    fake_scheduler.register_handler("h", handler)
    task = fake_scheduler.create_task(
        name="t", handler="h", trigger={"type": "interval", "seconds": 5}
    )
    await fake_clock.advance(5)
    ex = fake_scheduler.get_latest_execution(task.id)
    assert ex is not None
    for copied in (copy.copy(ex), snapshot(ex)):
        assert type(copied) is Execution
        assert not hasattr(copied, "task")  # no way from a copy to the engine's objects
        for field in dataclasses.fields(Execution):
            assert getattr(copied, field.name) == getattr(ex, field.name), field.name
        assert copied.metrics == {"rows": 3}
        assert [entry.message for entry in copied.logs] == ["hello"]
        assert copied.to_dict() == ex.to_dict()


def _execution(task_id: str, n: int, status: ExecutionStatus) -> Execution:
    return Execution(f"x{n}", task_id, "default", "t", "schedule", float(n), status, 1, float(n))  # type: ignore[arg-type]


def test_the_memory_ring_keeps_the_latest_and_never_drops_a_running_execution() -> None:
    store = MemoryStore(max_executions_per_task=3)
    running = _execution("a", 0, ExecutionStatus.RUNNING)
    store.save_execution(running)
    for n in range(1, 6):
        store.save_execution(_execution("a", n, ExecutionStatus.SUCCEEDED))
    store.save_execution(_execution("b", 9, ExecutionStatus.SUCCEEDED))
    # the running one holds the ring open: nothing behind it is dropped yet
    assert [e.id for e in store.list_executions("a")] == ["x5", "x4", "x3", "x2", "x1", "x0"]
    running.status = ExecutionStatus.SUCCEEDED
    store.save_execution(_execution("a", 6, ExecutionStatus.SUCCEEDED))
    assert [e.id for e in store.list_executions("a")] == ["x6", "x5", "x4"]
    assert store.get_execution("x0") is None and store.get_execution("x3") is None
    assert [e.id for e in store.list_executions("b")] == ["x9"]


def test_saving_another_object_for_a_stored_execution_replaces_it() -> None:
    store = MemoryStore()
    first = _execution("a", 1, ExecutionStatus.RUNNING)
    store.save_execution(first)
    store.save_execution(_execution("a", 2, ExecutionStatus.SUCCEEDED))
    again = _execution("a", 1, ExecutionStatus.FAILED)
    store.save_execution(again)
    assert store.get_execution("x1") is again
    assert [e.status for e in store.list_executions("a")] == [
        ExecutionStatus.SUCCEEDED,
        ExecutionStatus.FAILED,
    ]
    assert len(store.list_executions()) == 2


def test_a_new_run_sets_every_execution_field_to_its_declared_default() -> None:
    """Run.__init__ sets Execution's fields itself (the hot path): none may be left unset or
    differ from what Execution's own constructor gives."""
    from cognia_nb._engine.run import Run
    from cognia_nb._model.task import Task, TriggerKind
    from cognia_nb.triggers import IntervalTrigger

    task = Task(id="t1", plugin_id="p", name="n", handler="h", trigger=IntervalTrigger(5))
    run = Run(task, "x_1", TriggerKind.MANUAL, 10.0, 11.0)
    plain = Execution("x_1", "t1", "p", "n", TriggerKind.MANUAL, 10.0, created_ts=11.0)
    for f in dataclasses.fields(Execution):
        assert getattr(run, f.name) == getattr(plain, f.name), f.name
        assert type(getattr(run, f.name)) is type(getattr(plain, f.name)), f.name
