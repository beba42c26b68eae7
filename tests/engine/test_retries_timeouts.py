"""Retries, timeouts and cancellation, on the fake clock."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from cognia_nb import ExecutionStatus, Scheduler, TaskAbortedError, TaskContext
from cognia_nb.testing import FakeClock, settle


def make(scheduler: Scheduler, fn: Any, **kw: Any) -> str:
    scheduler.register_handler("h", fn)
    task = scheduler.create_task(
        name="t", handler="h", trigger={"type": "event", "eventType": "go"}, **kw
    )
    return task.id


async def test_retries_with_delay_and_backoff(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    attempts: list[tuple[int, float]] = []

    async def flaky(ctx: TaskContext) -> str:
        attempts.append((ctx.attempt_number, fake_clock.now()))
        if ctx.attempt_number < 4:
            raise ValueError(f"try {ctx.attempt_number}")
        return "ok"

    tid = make(
        fake_scheduler,
        flaky,
        retry={"maxAttempts": 5, "delaySeconds": 10, "backoff": 2, "maxDelaySeconds": 30},
    )
    start = fake_clock.now()
    xid = fake_scheduler.run_task_now(tid)
    await fake_clock.advance(1000)
    ex = fake_scheduler.get_execution(xid)
    assert ex.status is ExecutionStatus.SUCCEEDED and ex.output == "ok"
    assert ex.attempt == 4
    # delays 10, 20, then 40 capped at 30
    assert [round(t - start) for _, t in attempts] == [0, 10, 30, 60]
    assert [a for a, _ in attempts] == [1, 2, 3, 4]
    assert len(fake_scheduler.get_executions(tid)) == 1  # retries are attempts, not executions
    assert sum("retrying in" in e.message for e in ex.logs) == 3


async def test_retries_exhausted_is_failed(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    calls = []

    async def bad(ctx: TaskContext) -> dict[str, Any]:
        calls.append(ctx.attempt_number)
        return {"success": False, "error": f"bad {ctx.attempt_number}"}

    tid = make(fake_scheduler, bad, retry={"maxAttempts": 3, "delaySeconds": 5})
    xid = fake_scheduler.run_task_now(tid)
    await fake_clock.advance(100)
    ex = fake_scheduler.get_execution(xid)
    assert calls == [1, 2, 3]
    assert ex.status is ExecutionStatus.FAILED and ex.error == "bad 3" and ex.attempt == 3


async def test_async_timeout_cancels_after_grace(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    cancelled = []

    async def stuck(ctx: TaskContext) -> None:
        try:
            await asyncio.Event().wait()  # ignores the signal
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    tid = make(fake_scheduler, stuck, timeout=30)
    xid = fake_scheduler.run_task_now(tid)
    await fake_clock.advance(29)
    assert fake_scheduler.get_execution(xid).status is ExecutionStatus.RUNNING
    await fake_clock.advance(5)
    ex = fake_scheduler.get_execution(xid)
    assert ex.status is ExecutionStatus.TIMED_OUT and cancelled == [True]
    assert ex.error == "timed out after 30 s"
    assert ex.duration == 31  # ended when the handler did: the deadline plus cancel_grace


async def test_cooperative_async_handler_sees_the_signal(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    seen = []

    async def polite(ctx: TaskContext) -> None:
        reason = await ctx.signal.wait()
        seen.append((reason, ctx.signal.aborted))
        ctx.signal.throw_if_aborted()

    tid = make(fake_scheduler, polite, timeout=10)
    xid = fake_scheduler.run_task_now(tid)
    await fake_clock.advance(10)
    assert seen == [("timeout", True)]
    assert fake_scheduler.get_execution(xid).status is ExecutionStatus.TIMED_OUT


async def test_sync_timeout_abandons_the_thread_after_the_grace() -> None:
    clock = FakeClock(thread_wait=0)
    scheduler = Scheduler(clock=clock, timezone="UTC").start()
    release = threading.Event()
    finished = threading.Event()

    def blocking(ctx: TaskContext) -> str:
        release.wait(10)
        finished.set()
        return "late"

    tid = make(scheduler, blocking, timeout=5, retry={"maxAttempts": 1})
    xid = scheduler.run_task_now(tid)
    await clock.advance(5)
    ex = scheduler.get_execution(xid)
    assert ex.status is ExecutionStatus.RUNNING and ex.cancelling and ex.reason == "timeout"
    await clock.advance(1)  # cancel_grace: the thread did not return
    assert ex.status is ExecutionStatus.TIMED_OUT and ex.output is None and ex.abandoned
    assert ex.error == "timed out after 5 s; abandoned: the handler did not return within 1 s"
    assert ex.duration == 6 and scheduler.abandoned_threads == 1
    release.set()
    await asyncio.to_thread(finished.wait, 5)
    for _ in range(100):
        if scheduler.abandoned_threads == 0:
            break
        await asyncio.sleep(0.01)
    assert scheduler.abandoned_threads == 0
    assert ex.status is ExecutionStatus.TIMED_OUT  # the late result is dropped
    await scheduler.stop()
    scheduler.close()


async def test_timeout_then_retry_succeeds(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    async def slow_first(ctx: TaskContext) -> str:
        if ctx.attempt_number == 1:
            await ctx.sleep(100)
        return "second"

    tid = make(fake_scheduler, slow_first, timeout=10, retry={"maxAttempts": 2, "delaySeconds": 1})
    xid = fake_scheduler.run_task_now(tid)
    await fake_clock.advance(60)
    ex = fake_scheduler.get_execution(xid)
    assert ex.status is ExecutionStatus.SUCCEEDED and ex.attempt == 2 and ex.output == "second"


async def test_cancel_running_execution(fake_scheduler: Scheduler, fake_clock: FakeClock) -> None:
    seen = []

    async def long(ctx: TaskContext) -> None:
        try:
            await ctx.sleep(1000)
        except TaskAbortedError as exc:
            seen.append(exc.reason)
            raise

    tid = make(fake_scheduler, long)
    xid = fake_scheduler.run_task_now(tid)
    await fake_clock.advance(10)
    assert fake_scheduler.cancel_execution(xid) is True
    ex = fake_scheduler.get_execution(xid)
    assert ex.cancelling and ex.reason == "cancelled" and ex.finished_at is None
    await settle()
    assert seen == ["cancelled"]
    assert ex.status is ExecutionStatus.CANCELLED and ex.reason == "cancelled"
    assert ex.finished_at is not None
    assert fake_scheduler.cancel_execution(xid) is False  # already finished


async def test_cancel_while_waiting_to_retry(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    calls = []

    async def failing(ctx: TaskContext) -> None:
        calls.append(ctx.attempt_number)
        raise RuntimeError("no")

    tid = make(fake_scheduler, failing, retry={"maxAttempts": 5, "delaySeconds": 60})
    xid = fake_scheduler.run_task_now(tid)
    await fake_clock.advance(30)
    assert calls == [1]
    assert fake_scheduler.cancel_execution(xid)
    await fake_clock.advance(600)
    assert calls == [1]
    ex = fake_scheduler.get_execution(xid)
    assert ex.status is ExecutionStatus.CANCELLED
    assert fake_clock.pending_timers() == 0


async def test_cancel_sync_handler_ends_when_its_thread_returns(
    fake_scheduler: Scheduler,
) -> None:
    release = threading.Event()

    def blocking(ctx: TaskContext) -> None:
        ctx.signal.wait_sync(10)
        release.set()

    tid = make(fake_scheduler, blocking)
    xid = fake_scheduler.run_task_now(tid)
    await asyncio.sleep(0.05)
    fake_scheduler.cancel_execution(xid)
    assert fake_scheduler.get_execution(xid).cancelling
    ex = await fake_scheduler.wait_for(xid, timeout=5)
    assert release.is_set()  # wait_for returned after the thread saw the signal and returned
    assert ex.status is ExecutionStatus.CANCELLED and not ex.abandoned


async def test_progress_validation_fails_the_attempt(fake_scheduler: Scheduler) -> None:
    async def bad_progress(ctx: TaskContext) -> None:
        ctx.report_progress(150)

    tid = make(fake_scheduler, bad_progress)
    ex = await fake_scheduler.wait_for(fake_scheduler.run_task_now(tid), timeout=5)
    assert ex.status is ExecutionStatus.FAILED
    assert ex.error is not None and "from 0 to 100, got 150" in ex.error


async def test_logs_are_bounded_and_progress_from_threads(fake_scheduler: Scheduler) -> None:
    def chatty(ctx: TaskContext) -> None:
        for i in range(500):
            ctx.log("info", f"line {i}", i=i)
        ctx.report_progress(42.5, "almost")

    tid = make(fake_scheduler, chatty)
    ex = await fake_scheduler.wait_for(fake_scheduler.run_task_now(tid), timeout=5)
    assert len(ex.logs) == 200 and ex.logs[-1].message == "line 499"
    assert ex.logs[-1].fields == {"i": 499}
    assert ex.progress == 42.5 and ex.progress_message == "almost"
