"""Every exception a handler raises is data: a failed execution naming it (#20).

``SystemExit(0)``, ``KeyboardInterrupt``, ``GeneratorExit`` included: the scheduler goes on,
every execution reaches exactly one final status, and only the scheduler's own cancel is read
as cancellation.
"""

from __future__ import annotations

import asyncio
import builtins
from typing import Any

import pytest

from cognia_nb import ExecutionStatus, Scheduler, TaskContext
from cognia_nb.testing import FakeClock

_SPECIAL_ARGS: dict[type[BaseException], tuple[Any, ...]] = {
    UnicodeDecodeError: ("utf-8", b"\xff", 0, 1, "bad byte"),
    UnicodeEncodeError: ("ascii", "\xe9", 0, 1, "bad char"),
    UnicodeTranslateError: ("\xe9", 0, 1, "bad char"),
    BaseExceptionGroup: ("group", [ValueError("inner")]),
    ExceptionGroup: ("group", [ValueError("inner")]),
}


def every_exception_class() -> list[type[BaseException]]:
    """``BaseException`` and all its subclasses, recursively (each once)."""
    seen: dict[type[BaseException], None] = {}
    stack: list[type[BaseException]] = [BaseException]
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen[cls] = None
            stack.extend(cls.__subclasses__())
    return list(seen)


def instance(cls: type[BaseException]) -> BaseException | None:
    """An instance of ``cls`` (None if it cannot be built without special arguments)."""
    for args in (_SPECIAL_ARGS.get(cls), ("boom",), ()):
        if args is None:
            continue
        try:
            exc = cls(*args)
        except Exception:
            continue
        if isinstance(exc, cls):
            return exc
    return None


def test_every_builtin_exception_class_can_be_raised() -> None:
    builtin = [c for c in every_exception_class() if c.__module__ == "builtins"]
    assert len(builtin) > 60 and SystemExit in builtin and GeneratorExit in builtin
    assert all(instance(c) is not None for c in builtin), [c for c in builtin if not instance(c)]
    assert KeyboardInterrupt in builtin and builtins.BaseExceptionGroup in builtin


@pytest.mark.timeout(300)
async def test_handlers_raising_every_exception_class_fail_and_the_scheduler_goes_on() -> None:
    clock = FakeClock()
    scheduler = Scheduler(clock=clock, timezone="UTC").start()
    raised: list[BaseException] = []
    for cls in every_exception_class():
        exc = instance(cls)
        if exc is not None:
            raised.append(exc)
    assert len(raised) > 100

    def sync_raiser(ctx: TaskContext) -> None:
        raise ctx.args["exc"]

    async def async_raiser(ctx: TaskContext) -> None:
        await asyncio.sleep(0)  # raise from a later step (inside the Task)
        raise ctx.args["exc"]

    async def first_step_raiser(ctx: TaskContext) -> None:
        raise ctx.args["exc"]  # raised in the synchronous first step

    handlers = {"sync": sync_raiser, "async": async_raiser, "first": first_step_raiser}
    for kind, fn in handlers.items():
        scheduler.register_handler(kind, fn)
    ends: list[str] = []
    scheduler.on("task_error", lambda t, ex, e: ends.append(ex.id))
    scheduler.on("task_complete", lambda t, ex, r: ends.append(ex.id))
    ids: list[tuple[str, BaseException]] = []
    for i, exc in enumerate(raised):
        for kind in handlers:
            task = scheduler.create_task(
                name=f"{kind}-{i}", handler=kind, trigger={"type": "event", "eventType": "never"},
                args={"exc": exc}, timeout=None,
            )  # fmt: skip
            ids.append((scheduler.run_task_now(task.id), exc))
    for xid, exc in ids:
        ex = await scheduler.wait_for(xid, timeout=30)
        name = type(exc).__name__
        assert ex.status is ExecutionStatus.FAILED, (name, ex.status, ex.error)
        assert ex.error is not None and ex.error.split(":")[0] in (name, "RuntimeError"), ex.error
        if isinstance(exc, StopIteration | StopAsyncIteration):
            continue  # Python itself turns these into RuntimeError inside coroutines
        assert ex.error.startswith(name), (name, ex.error)
    assert sorted(ends) == sorted(xid for xid, _ in ids)  # exactly one end each
    assert not scheduler._runner.live  # nothing left running

    async def healthy(ctx: TaskContext) -> str:
        return "still here"

    scheduler.register_handler("ok", healthy)
    task = scheduler.create_task(
        name="ok", handler="ok", trigger={"type": "event", "eventType": "x"}
    )
    ok = await scheduler.wait_for(scheduler.run_task_now(task.id), timeout=5)
    assert ok.status is ExecutionStatus.SUCCEEDED and ok.output == "still here"
    await scheduler.stop()
    scheduler.close()


async def test_system_exit_zero_names_itself(fake_scheduler: Scheduler) -> None:
    def leave(ctx: TaskContext) -> None:
        raise SystemExit(0)

    async def interrupt(ctx: TaskContext) -> None:
        await asyncio.sleep(0)
        raise KeyboardInterrupt

    async def generator_exit(ctx: TaskContext) -> None:
        await asyncio.sleep(0)
        raise GeneratorExit

    fake_scheduler.register_handler("leave", leave)
    fake_scheduler.register_handler("interrupt", interrupt)
    fake_scheduler.register_handler("gen", generator_exit)
    errors = {}
    for name in ("leave", "interrupt", "gen"):
        task = fake_scheduler.create_task(
            name=name, handler=name, trigger={"type": "interval", "seconds": 60}
        )
        ex = await fake_scheduler.wait_for(fake_scheduler.run_task_now(task.id), timeout=5)
        assert ex.status is ExecutionStatus.FAILED and ex.traceback
        errors[name] = ex.error
    assert errors == {
        "leave": "SystemExit: 0",
        "interrupt": "KeyboardInterrupt",
        "gen": "GeneratorExit",
    }
    # The task fires again on schedule (nothing was left running).
    task = fake_scheduler.get_task("gen")
    assert not fake_scheduler._runner.busy(task.id)


async def test_a_cancelled_error_of_the_handlers_own_is_a_failure(
    fake_scheduler: Scheduler,
) -> None:
    async def inner_cancelled(ctx: TaskContext) -> None:
        inner = asyncio.ensure_future(asyncio.sleep(10))
        await asyncio.sleep(0)
        inner.cancel()
        await inner  # raises CancelledError; the scheduler did not cancel anything

    fake_scheduler.register_handler("h", inner_cancelled)
    task = fake_scheduler.create_task(
        name="h", handler="h", trigger={"type": "event", "eventType": "x"}
    )
    ex = await fake_scheduler.wait_for(fake_scheduler.run_task_now(task.id), timeout=5)
    assert ex.status is ExecutionStatus.FAILED and ex.error == "CancelledError"
