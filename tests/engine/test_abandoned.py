"""Handlers that outlive their abort and the grace are abandoned, and still count as running.

Sync handlers here ignore their signal in real threads (a thread cannot be killed); the fake
clock does not wait for them (``thread_wait=0``); the test waits on thread events, not sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from cognia_nb import ExecutionStatus, Scheduler, TaskContext
from cognia_nb.testing import FakeClock, settle


class Hung:
    """A sync handler that ignores its signal until released; counts concurrent threads."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.release = threading.Event()
        self.now = self.max = self.calls = 0

    def __call__(self, ctx: TaskContext) -> None:
        with self.lock:
            self.now += 1
            self.calls += 1
            self.max = max(self.max, self.now)
            self.lock.notify_all()
        try:
            self.release.wait(30)
        finally:
            with self.lock:
                self.now -= 1
                self.lock.notify_all()

    async def wait_calls(self, n: int) -> None:
        def wait() -> bool:
            with self.lock:
                return self.lock.wait_for(lambda: self.calls >= n, 10)

        assert await asyncio.to_thread(wait), f"{self.calls} calls, expected {n}"

    async def wait_idle(self) -> None:
        def wait() -> bool:
            with self.lock:
                return self.lock.wait_for(lambda: self.now == 0, 10)

        assert await asyncio.to_thread(wait)


@pytest_asyncio.fixture
async def clock() -> AsyncIterator[FakeClock]:
    clock = FakeClock(thread_wait=0)
    yield clock
    await clock.aclose()


async def until(predicate: Any) -> None:
    """Let loop callbacks run (thread futures land through the loop) until ``predicate()``."""
    for _ in range(500):
        if predicate():
            return
        await asyncio.to_thread(lambda: None)  # one hop through a thread: no sleeping
        await settle()
    raise AssertionError("condition not reached")


async def tick(clock: FakeClock, hung: Hung, seconds: int, expected_calls: Any) -> None:
    for second in range(1, seconds + 1):
        await clock.advance(0.5)
        await clock.advance(0.5)
        await hung.wait_calls(expected_calls(second))


@pytest.mark.parametrize(
    ("policy", "calls", "max_threads"),
    [("skip", 1, 1), ("queue", 1, 1), ("replace", 1, 1), ("allow", 6, 6)],
)
async def test_a_sync_handler_ignoring_its_signal_under_each_overlap_policy(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, policy: str, calls: int, max_threads: int
) -> None:
    caplog.set_level(logging.WARNING, "cognia_nb.scheduler")
    scheduler = Scheduler(clock=clock, timezone="UTC", sync_workers=2).start()
    hung = Hung()
    scheduler.register_handler("h", hung)
    task = scheduler.create_task(
        name="nightly", handler="h", trigger={"type": "interval", "seconds": 1}, timeout=0.5,
        overlap=policy,
    )  # fmt: skip
    await tick(clock, hung, 6, (lambda s: s) if policy == "allow" else (lambda s: 1))
    await until(lambda: True)
    assert hung.calls == calls and hung.max == max_threads  # concurrent handler threads
    executions = scheduler.get_executions(task.id, limit=100)
    first = executions[-1]
    assert first.abandoned
    if policy == "replace":  # replaced while it wound down from its timeout
        assert first.status is ExecutionStatus.CANCELLED and first.reason == "replaced"
    else:
        assert first.status is ExecutionStatus.TIMED_OUT and first.error == (
            "timed out after 0.5 s; abandoned: the handler did not return within 1 s"
        )
    abandoned_logs = [r for r in caplog.records if "abandoned" in r.getMessage()]
    assert abandoned_logs and "'nightly'" in abandoned_logs[0].getMessage()
    if policy == "skip":
        assert task.skipped_count == 5 and len(executions) == 1
        assert scheduler.abandoned_threads == 1 and len(abandoned_logs) == 1
    elif policy == "queue":
        pending = [e for e in executions if e.status is ExecutionStatus.PENDING]
        assert len(pending) == 5 and scheduler.abandoned_threads == 1
    elif policy == "replace":
        statuses = [e.status for e in executions]
        assert statuses.count(ExecutionStatus.PENDING) == 1  # the newest waits ...
        assert statuses.count(ExecutionStatus.CANCELLED) == 5  # ... the others were replaced
        newest = executions[0]
        assert any("abandoned thread" in e.message for e in newest.logs)  # it says so
        assert any("replace waits" in r.getMessage() for r in caplog.records)
    else:  # allow: every firing runs, the pool grew for the abandoned threads
        assert scheduler.abandoned_threads == 4  # the last two are still in their grace
        assert scheduler._pool._max_workers == 2 + 4
    hung.release.set()
    await hung.wait_idle()
    await until(lambda: scheduler.abandoned_threads == 0)
    assert scheduler._pool._max_workers == 2  # back to its size
    if policy == "queue":  # the queued firings now run, one after another
        await until(lambda: hung.calls == 6)
        assert hung.max == 1
    await scheduler.stop(grace=0)
    scheduler.close()


async def test_twenty_hung_sync_handlers_do_not_starve_a_healthy_task(clock: FakeClock) -> None:
    scheduler = Scheduler(clock=clock, timezone="UTC", sync_workers=6).start()
    hung = Hung()
    scheduler.register_handler("hung", hung)
    for i in range(20):
        scheduler.create_task(
            name=f"hung-{i}", handler="hung", trigger={"type": "interval", "seconds": 1000},
            timeout=1,
        )  # fmt: skip
    await clock.advance(1000)  # the hung ones fire and hang (6 in threads, 14 wait)
    await hung.wait_calls(6)
    for _ in range(6):  # timeout 1 s, grace 1 s: all 20 are over
        await clock.advance(0.5)
    await until(lambda: scheduler.abandoned_threads == 6)
    ran: list[float] = []

    def healthy(ctx: TaskContext) -> None:
        ran.append(ctx.scheduled_at.timestamp())

    scheduler.register_handler("healthy", healthy)
    t0 = clock.now()
    task = scheduler.create_task(
        name="healthy", handler="healthy", trigger={"type": "interval", "seconds": 5}, timeout=1
    )
    for i in range(3):  # three healthy firings, each runs on time
        await clock.advance(5)
        await until(lambda i=i: len(ran) == i + 1 and not scheduler._runner.busy(task.id))
    executions = scheduler.get_executions(task.id, limit=500)
    assert all(e.status is ExecutionStatus.SUCCEEDED for e in executions[:3]), executions[:3]
    assert ran == [t0 + 5, t0 + 10, t0 + 15]
    assert hung.calls == 6  # the 14 that never got a thread were dropped, not run late
    statuses = {
        e.status for t in scheduler.list_tasks() if t.name.startswith("hung")
        for e in scheduler.get_executions(t.id)
    }  # fmt: skip
    assert statuses == {ExecutionStatus.TIMED_OUT}
    hung.release.set()
    await hung.wait_idle()
    await scheduler.stop(grace=0)
    scheduler.close()


async def test_an_async_handler_swallowing_cancellation_is_given_up_on(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    done = asyncio.Event()
    swallowed = []

    async def stubborn(ctx: TaskContext) -> None:
        while not done.is_set():
            try:
                await done.wait()
            except asyncio.CancelledError:
                swallowed.append(fake_clock.now())  # and keeps going

    fake_scheduler.register_handler("s", stubborn)
    task = fake_scheduler.create_task(
        name="s", handler="s", trigger={"type": "event", "eventType": "x"}, timeout=1
    )
    xid = fake_scheduler.run_task_now(task.id)
    await fake_clock.advance(1)
    ex = fake_scheduler.get_execution(xid)
    assert ex.cancelling
    await fake_clock.advance(1)  # cancel_grace: cancelled, and it swallows that
    assert swallowed and ex.status is ExecutionStatus.RUNNING
    await fake_clock.advance(1)  # another grace: given up on
    assert ex.status is ExecutionStatus.TIMED_OUT and ex.abandoned and ex.duration == 3
    assert fake_scheduler.abandoned_threads == 1
    second = fake_scheduler.run_task_now(task.id)  # queues: the old handler still runs
    assert fake_scheduler.get_execution(second).status is ExecutionStatus.PENDING
    done.set()
    await settle()
    assert fake_scheduler.abandoned_threads == 0
    finished = await fake_scheduler.wait_for(second, timeout=5)
    assert finished.status is ExecutionStatus.SUCCEEDED
