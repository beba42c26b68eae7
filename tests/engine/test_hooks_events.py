"""Hooks (order, async, exploding) and events (emit, sources, chaining)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from cognia_nb import ExecutionStatus, Scheduler, TaskContext, TaskValidationError, TriggerKind
from cognia_nb.testing import FakeClock


async def test_hook_order_and_an_exploding_hook(
    fake_scheduler: Scheduler, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    order: list[str] = []

    async def handler(ctx: TaskContext) -> str:
        order.append("handler")
        return "done"

    def explode(*args: Any) -> None:
        raise RuntimeError("hook bug")

    async def async_complete(task: Any, ex: Any, result: Any) -> None:
        order.append(f"async complete {result.output}")

    fake_scheduler.on("task_create", lambda t: order.append(f"create {t.name}"))
    fake_scheduler.on("task_start", explode)
    fake_scheduler.on("task_start", lambda t, ex: order.append(f"start {ex.status}"))
    fake_scheduler.on("task_complete", lambda t, ex, r: order.append(f"complete {r.output}"))
    fake_scheduler.on("task_complete", async_complete)
    fake_scheduler.register_handler("h", handler)
    task = fake_scheduler.create_task(
        name="hooked", handler="h", trigger={"type": "interval", "seconds": 10}
    )
    with caplog.at_level(logging.ERROR, logger="cognia_nb.hooks"):
        await fake_clock.advance(10)
    assert order == [
        "create hooked",
        "start running",
        "handler",
        "complete done",
        "async complete done",
    ]
    assert "hook task_start listener" in caplog.text and "hook bug" in caplog.text
    assert fake_scheduler.get_latest_execution(task.id).status is ExecutionStatus.SUCCEEDED


async def test_error_hook_and_unsubscribe(fake_scheduler: Scheduler) -> None:
    errors: list[str] = []

    def fail(ctx: TaskContext) -> None:
        raise ValueError("broken")

    stop = fake_scheduler.on("task_error", lambda t, ex, err: errors.append(err))
    fake_scheduler.register_handler("f", fail)
    task = fake_scheduler.create_task(
        name="f", handler="f", trigger={"type": "event", "eventType": "x"}
    )
    await fake_scheduler.wait_for(fake_scheduler.run_task_now(task.id), timeout=5)
    stop()
    await fake_scheduler.wait_for(fake_scheduler.run_task_now(task.id), timeout=5)
    assert errors == ["ValueError: broken"]
    with pytest.raises(TaskValidationError, match="unknown hook 'task_started'"):
        fake_scheduler.on("task_started", print)


async def test_emit_matches_type_and_source(fake_scheduler: Scheduler) -> None:
    seen: list[tuple[str, Any, str]] = []

    async def on_event(ctx: TaskContext) -> None:
        assert ctx.event is not None
        seen.append((ctx.task_name, ctx.event.payload, ctx.event.source))

    fake_scheduler.register_handler("e", on_event)
    fake_scheduler.create_task(
        name="any source", handler="e", trigger={"type": "event", "eventType": "session:created"}
    )
    fake_scheduler.create_task(
        name="core only",
        handler="e",
        trigger={"type": "event", "eventType": "session:created", "eventSource": "core"},
    )
    ids = fake_scheduler.emit("session:created", {"id": 1}, source="core")
    assert len(ids) == 2
    for xid in ids:
        ex = await fake_scheduler.wait_for(xid, timeout=5)
        assert ex.trigger_kind is TriggerKind.EVENT
    ids = fake_scheduler.emit("session:created", {"id": 2})
    for xid in ids:
        await fake_scheduler.wait_for(xid, timeout=5)
    assert fake_scheduler.emit("other") == []
    assert sorted(seen, key=repr) == [
        ("any source", {"id": 1}, "core"),
        ("any source", {"id": 2}, "user"),
        ("core only", {"id": 1}, "core"),
    ]
    with pytest.raises(TaskValidationError, match="eventType"):
        fake_scheduler.emit("bad type!")


async def test_scheduler_emits_task_events_for_chaining(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    chain: list[Any] = []

    async def first(ctx: TaskContext) -> None:
        return None

    async def after(ctx: TaskContext) -> None:
        assert ctx.event is not None
        chain.append((ctx.event.type, ctx.event.source, ctx.event.payload["taskName"]))

    fake_scheduler.register_handler("first", first)
    fake_scheduler.register_handler("after", after)
    fake_scheduler.create_task(
        name="first", handler="first", trigger={"type": "interval", "seconds": 60}
    )
    fake_scheduler.create_task(
        name="after",
        handler="after",
        trigger={"type": "event", "eventType": "task:succeeded", "eventSource": "scheduler"},
    )
    await fake_clock.advance(60)
    # "after" succeeding emits task:succeeded too; chains are bounded, and each link is
    # visible. The first link is the one we care about.
    assert chain[0] == ("task:succeeded", "scheduler", "first")
    assert len(chain) <= 1 + 8


async def test_failed_task_emits_task_failed(fake_scheduler: Scheduler) -> None:
    got: list[str] = []

    async def fail(ctx: TaskContext) -> None:
        raise RuntimeError("x")

    async def alert(ctx: TaskContext) -> None:
        got.append(ctx.event.payload["error"])

    fake_scheduler.register_handler("fail", fail)
    fake_scheduler.register_handler("alert", alert)
    t = fake_scheduler.create_task(
        name="fail", handler="fail", trigger={"type": "event", "eventType": "never"}
    )
    fake_scheduler.create_task(
        name="alert", handler="alert", trigger={"type": "event", "eventType": "task:failed"}
    )
    await fake_scheduler.wait_for(fake_scheduler.run_task_now(t.id), timeout=5)
    await fake_scheduler.clock.advance(0)  # type: ignore[attr-defined]
    assert got == ["RuntimeError: x"]
