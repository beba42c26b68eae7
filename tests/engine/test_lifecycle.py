"""The rule: an execution is finished when its handler has returned (or been given up on).

Cancel and timeout set the signal at once; the execution shows ``cancelling`` while the
handler winds down; wait_for, hooks, events and the store see the final status only after.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from cognia_nb import ExecutionStatus, Scheduler, TaskContext
from cognia_nb.testing import FakeClock, settle


def make(scheduler: Scheduler, fn: Any, name: str = "t", **kw: Any) -> str:
    scheduler.register_handler(name, fn)
    task = scheduler.create_task(
        name=name, handler=name, trigger={"type": "event", "eventType": f"go-{name}"}, **kw
    )
    return task.id


def record_ends(scheduler: Scheduler, order: list[str]) -> None:
    scheduler.on("task_complete", lambda t, ex, r: order.append(f"hook:{ex.status}"))
    scheduler.on("task_error", lambda t, ex, e: order.append(f"hook:{ex.status}"))


async def test_cancel_ends_after_the_handlers_finally(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    order: list[str] = []

    async def cleanup_then_stop(ctx: TaskContext) -> None:
        try:
            await ctx.signal.wait()
            await asyncio.sleep(0)  # cleanup that itself suspends
        finally:
            order.append(f"finally:{fake_scheduler.get_execution(ctx.execution_id).status}")

    record_ends(fake_scheduler, order)
    xid = fake_scheduler.run_task_now(make(fake_scheduler, cleanup_then_stop))
    await fake_clock.advance(1)

    async def waiter() -> None:
        ex = await fake_scheduler.wait_for(xid)
        order.append(f"wait_for:{ex.status}")

    waiting = asyncio.ensure_future(waiter())
    await settle()
    assert fake_scheduler.cancel_execution(xid) is True
    ex = fake_scheduler.get_execution(xid)
    assert ex.status is ExecutionStatus.RUNNING and ex.cancelling and ex.reason == "cancelled"
    assert order == []  # nothing has seen an end yet
    await waiting
    assert order == ["finally:running", "hook:cancelled", "wait_for:cancelled"]
    assert ex.status is ExecutionStatus.CANCELLED and not ex.cancelling and not ex.abandoned


async def test_timeout_of_an_async_handler_ignoring_the_signal(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    order: list[str] = []

    async def stubborn(ctx: TaskContext) -> None:
        try:
            await asyncio.Event().wait()  # ignores the signal: cancelled after the grace
        finally:
            order.append("finally")

    async def on_failed(ctx: TaskContext) -> None:
        assert ctx.event is not None
        order.append(f"event:{ctx.event.payload['status']}")

    record_ends(fake_scheduler, order)
    xid = fake_scheduler.run_task_now(make(fake_scheduler, stubborn, timeout=10))
    fake_scheduler.register_handler("on_failed", on_failed)
    fake_scheduler.create_task(
        name="on_failed", handler="on_failed",
        trigger={"type": "event", "eventType": "task:failed"},
    )  # fmt: skip
    await fake_clock.advance(10)
    ex = fake_scheduler.get_execution(xid)
    assert ex.cancelling and ex.reason == "timeout" and order == []
    await fake_clock.advance(0.5)
    assert ex.status is ExecutionStatus.RUNNING  # still inside the grace
    await fake_clock.advance(0.5)
    assert order[:3] == ["finally", "hook:timed_out", "event:timed_out"]
    assert ex.status is ExecutionStatus.TIMED_OUT and ex.duration == 11 and not ex.abandoned


async def test_sync_handler_cancel_waits_for_the_thread() -> None:
    clock = FakeClock(thread_wait=0)
    scheduler = Scheduler(clock=clock, timezone="UTC").start()
    order: list[str] = []
    record_ends(scheduler, order)
    entered, release = threading.Event(), threading.Event()

    def polite(ctx: TaskContext) -> None:
        entered.set()
        try:
            ctx.signal.wait_sync(10)
            release.wait(10)  # cleanup that takes a while
        finally:
            order.append("finally")

    xid = scheduler.run_task_now(make(scheduler, polite))
    assert await asyncio.to_thread(entered.wait, 5)
    scheduler.cancel_execution(xid)
    await asyncio.sleep(0.05)
    assert scheduler.get_execution(xid).cancelling and order == []
    release.set()
    ex = await scheduler.wait_for(xid, timeout=5)
    assert order == ["finally", "hook:cancelled"]
    assert ex.status is ExecutionStatus.CANCELLED and not ex.abandoned
    await scheduler.stop()
    scheduler.close()


async def test_store_sees_the_final_status_only_at_the_end(tmp_path: Any) -> None:
    clock = FakeClock()
    scheduler = Scheduler(store=str(tmp_path / "s.db"), clock=clock, timezone="UTC").start()

    async def slow_cleanup(ctx: TaskContext) -> None:
        try:
            await ctx.signal.wait()
        finally:
            await clock.sleep(0.5)  # its finally takes half a second

    xid = scheduler.run_task_now(make(scheduler, slow_cleanup))
    await clock.advance(1)
    scheduler.cancel_execution(xid)
    await settle()
    scheduler.store.flush()
    stored = scheduler.store.get_execution(xid)
    assert stored is not None and stored.status is ExecutionStatus.RUNNING
    await clock.advance(0.5)
    scheduler.store.flush()
    stored = scheduler.store.get_execution(xid)
    assert stored is not None and stored.status is ExecutionStatus.CANCELLED
    assert stored.reason == "cancelled" and stored.duration == 1.5
    await scheduler.stop()
    scheduler.close()


async def test_stop_waits_for_the_handlers_finally(fake_clock: FakeClock) -> None:
    scheduler = Scheduler(clock=fake_clock, timezone="UTC").start()
    order: list[str] = []

    async def long(ctx: TaskContext) -> None:
        try:
            await ctx.sleep(1000)
        finally:
            order.append("finally")

    xid = scheduler.run_task_now(make(scheduler, long))
    await fake_clock.advance(1)
    stopping = asyncio.ensure_future(scheduler.stop(grace=2))
    await settle()
    assert not stopping.done() and order == []  # running handlers get the grace
    await fake_clock.advance(2)  # then they are cancelled
    await settle()
    assert stopping.done() and order == ["finally"]
    ex = scheduler.get_execution(xid)
    assert ex.status is ExecutionStatus.CANCELLED and ex.reason == "shutdown"
    assert ex.finished_ts == fake_clock.now()
    scheduler.close()


async def test_a_handler_waiting_for_its_own_execution_is_refused(
    fake_scheduler: Scheduler,
) -> None:
    async def waits_for_itself(ctx: TaskContext) -> None:
        await fake_scheduler.wait_for(ctx.execution_id)

    xid = fake_scheduler.run_task_now(make(fake_scheduler, waits_for_itself))
    ex = await fake_scheduler.wait_for(xid, timeout=5)
    assert ex.status is ExecutionStatus.FAILED
    assert ex.error == (
        f"SchedulerStateError: execution {xid!r} cannot wait for itself: it ends when its own "
        "handler returns"
    )


async def test_stop_nowait_from_a_handler_thread_runs_on_the_loop() -> None:
    clock = FakeClock(thread_wait=0)
    scheduler = Scheduler(clock=clock, timezone="UTC").start()
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = scheduler._runner.give_up

    def spy(run: Any) -> None:
        seen.append(threading.get_ident())
        original(run)

    scheduler._runner.give_up = spy  # type: ignore[method-assign]

    def stops_everything(ctx: TaskContext) -> None:
        scheduler.stop_nowait()

    xid = scheduler.run_task_now(make(scheduler, stops_everything))
    for _ in range(200):
        if not scheduler.running:
            break
        await asyncio.to_thread(lambda: None)
    assert not scheduler.running and seen == [loop_thread]
    ex = scheduler.get_execution(xid)  # it was running when everything stopped at once
    assert ex.status is ExecutionStatus.CANCELLED and ex.abandoned and ex.reason == "shutdown"
    scheduler.close()
