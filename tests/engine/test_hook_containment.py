"""A hook that raises anything (SystemExit, KeyboardInterrupt, GeneratorExit, ...) is logged
as a hook failure; the loop, the execution and the other listeners go on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from cognia_nb import ExecutionStatus, Scheduler, TaskContext
from cognia_nb.testing import FakeClock


class _Custom(BaseException):
    """A user's own BaseException subclass."""


RAISED: list[BaseException] = [
    SystemExit(0),
    SystemExit(3),
    KeyboardInterrupt(),
    GeneratorExit(),
    asyncio.CancelledError(),  # raised by a sync listener itself: not the engine's cancel
    _Custom("mine"),
    RuntimeError("plain"),
]


def _all_builtin_exceptions() -> Iterator[type[BaseException]]:
    stack: list[type[BaseException]] = [BaseException]
    seen: set[type[BaseException]] = set()
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        if cls.__module__ == "builtins":
            yield cls
        stack.extend(cls.__subclasses__())


def _instance(cls: type[BaseException]) -> BaseException | None:
    for args in ((), ("x",), ("utf-8", b"x", 0, 1, "bad"), ("utf-8", "x", 0, 1, "bad"),
                 ("x", 0, 1, "bad"), ("group", [KeyboardInterrupt()]),
                 ("group", [ValueError()])):  # fmt: skip
        try:
            return cls(*args)
        except Exception:
            continue
    return None


async def _run_with_hook(
    scheduler: Scheduler, clock: FakeClock, listener: Any, hook: str = "task_start"
) -> tuple[list[str], str]:
    """Two firings of an interval task with ``listener`` on ``hook``; (handler calls, task id)."""
    calls: list[str] = []

    async def handler(ctx: TaskContext) -> str:
        calls.append(ctx.execution_id)
        return "ok"

    after: list[str] = []
    scheduler.on(hook, listener)
    scheduler.on(hook, lambda *a: after.append(hook))  # a later listener still runs
    scheduler.register_handler("h", handler)
    task = scheduler.create_task(name="t", handler="h", trigger={"type": "interval", "seconds": 5})
    await clock.advance(5)
    await clock.advance(5)
    assert after, "the listener after the raising one did not run"
    return calls, task.id


@pytest.mark.parametrize("exc", RAISED, ids=lambda e: f"{type(e).__name__}{e.args}")
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_raising_hook_is_logged_and_the_loop_goes_on(
    fake_scheduler: Scheduler, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture,
    exc: BaseException, kind: str,
) -> None:  # fmt: skip
    def sync_listener(*args: Any) -> None:
        raise exc

    async def async_listener(*args: Any) -> None:
        await asyncio.sleep(0)
        raise exc

    listener = sync_listener if kind == "sync" else async_listener
    with caplog.at_level(logging.ERROR, logger="cognia_nb.hooks"):
        calls, task_id = await _run_with_hook(fake_scheduler, fake_clock, listener)
        await asyncio.sleep(0)
    assert len(calls) == 2  # the loop fired the task again after the hook raised
    history = fake_scheduler.get_executions(task_id, 10)
    assert [e.status for e in history] == [ExecutionStatus.SUCCEEDED] * 2
    if kind == "async" and isinstance(exc, asyncio.CancelledError):
        return  # an async listener raising CancelledError just ends its own task
    assert "hook task_start listener" in caplog.text
    assert "the scheduler goes on" in caplog.text
    assert type(exc).__name__ in caplog.text


@pytest.mark.parametrize("hook", ["task_create", "task_start", "task_error", "task_pause"])
async def test_sys_exit_in_any_hook_leaves_the_call_and_the_task_intact(
    fake_scheduler: Scheduler, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture, hook: str
) -> None:
    import sys

    def bail(*args: Any) -> None:
        sys.exit(0)

    async def fails(ctx: TaskContext) -> None:
        raise ValueError("handler failure")

    fake_scheduler.on(hook, bail)
    fake_scheduler.register_handler("f", fails)
    with caplog.at_level(logging.ERROR, logger="cognia_nb.hooks"):
        task = fake_scheduler.create_task(
            name="t", handler="f", trigger={"type": "interval", "seconds": 5}
        )
        await fake_clock.advance(5)
        fake_scheduler.pause_task(task.id)
    assert fake_scheduler.get_task(task.id).status == "paused"
    assert fake_scheduler.get_latest_execution(task.id).status is ExecutionStatus.FAILED
    assert f"hook {hook} listener" in caplog.text and "SystemExit" in caplog.text


async def test_every_builtin_exception_from_a_hook_is_contained(
    fake_scheduler: Scheduler, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    classes = list(_all_builtin_exceptions())
    assert all(_instance(c) is not None for c in classes)  # every one of them, ~70
    assert len(classes) > 60 and BaseExceptionGroup in classes and SystemExit in classes
    current: list[BaseException] = []

    def listener(*args: Any) -> None:
        raise current[0]

    fake_scheduler.on("task_complete", listener)
    ran: list[int] = []
    fake_scheduler.register_handler("h", lambda: ran.append(1))
    task = fake_scheduler.create_task(
        name="t", handler="h", trigger={"type": "interval", "seconds": 1}
    )
    with caplog.at_level(logging.ERROR, logger="cognia_nb.hooks"):
        for cls in classes:
            exc = _instance(cls)
            assert exc is not None
            current[:] = [exc]
            before = len(ran)
            await fake_clock.advance(1)
            for _ in range(50):  # the sync handler runs in a thread
                if len(ran) > before and fake_scheduler._runner.active == 0:
                    break
                await asyncio.sleep(0.01)
            assert len(ran) == before + 1, f"the task did not run again after {cls.__name__}"
    history = fake_scheduler.get_executions(task.id, len(classes) + 5)
    assert len(history) == len(classes)
    assert {e.status for e in history} == {ExecutionStatus.SUCCEEDED}
    assert caplog.text.count("hook task_complete listener") == len(classes)
