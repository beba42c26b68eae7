"""Events are data: event tasks queue by default, bounded; chains and storms are cut."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from cognia_nb import ExecutionStatus, Overlap, Scheduler, TaskContext
from cognia_nb._engine.firing import MAX_EVENT_DEPTH
from cognia_nb.testing import FakeClock, settle


async def test_two_emits_run_a_sync_handler_twice_with_their_own_payloads(
    fake_scheduler: Scheduler,
) -> None:
    seen: list[Any] = []

    def on_session(ctx: TaskContext) -> None:
        assert ctx.event is not None
        seen.append(ctx.event.payload)

    fake_scheduler.register_handler("h", on_session)
    task = fake_scheduler.create_task(
        name="t", handler="h", trigger={"type": "event", "eventType": "session:created"}
    )
    assert task.overlap is Overlap.QUEUE  # the default of event tasks
    first = fake_scheduler.emit("session:created", {"user": 1})
    second = fake_scheduler.emit("session:created", {"user": 2})
    assert len(first) == len(second) == 1
    for xid in (*first, *second):
        ex = await fake_scheduler.wait_for(xid, timeout=5)
        assert ex.status is ExecutionStatus.SUCCEEDED
    assert seen == [{"user": 1}, {"user": 2}]


async def test_explicit_overlap_wins_for_event_tasks(fake_scheduler: Scheduler) -> None:
    release = threading.Event()
    fake_scheduler.register_handler("h", lambda ctx: release.wait(5))
    task = fake_scheduler.create_task(
        name="t", handler="h", trigger={"type": "event", "eventType": "e"}, overlap="skip"
    )
    assert task.overlap is Overlap.SKIP
    assert len(fake_scheduler.emit("e")) == 1
    assert fake_scheduler.emit("e") == [] and task.skipped_count == 1
    release.set()


async def test_two_thousand_emits_keep_the_newest_and_count_the_dropped(
    fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "cognia_nb.scheduler")
    scheduler = Scheduler(clock=fake_clock, timezone="UTC").start()
    seen: list[int] = []

    async def slow(ctx: TaskContext) -> None:
        assert ctx.event is not None
        seen.append(ctx.event.payload)
        await ctx.sleep(1)

    scheduler.register_handler("h", slow)
    task = scheduler.create_task(
        name="sink", handler="h", trigger={"type": "event", "eventType": "tick"}
    )
    ids = [xid for i in range(2000) for xid in scheduler.emit("tick", i)]
    assert len(ids) == 2000
    # 1 runs, 1,000 wait (max_queued), the 999 oldest waiting were dropped and counted
    assert task.missed_count == 999
    dropped = [scheduler.get_execution(x) for x in ids[1:1000]]
    assert all(e.status is ExecutionStatus.CANCELLED and e.reason == "queue full" for e in dropped)
    assert dropped[0].error == "dropped: more than 1000 executions were queued for the task"
    drops_logged = [r for r in caplog.records if "oldest are dropped" in r.getMessage()]
    assert len(drops_logged) == 1 and "'sink'" in drops_logged[0].getMessage()
    for _ in range(1001):
        await fake_clock.advance(1)
    assert seen == [0, *range(1000, 2000)]  # in order, each with its own payload
    assert all(scheduler.get_execution(x).status is ExecutionStatus.SUCCEEDED for x in ids[1000:])
    await scheduler.stop()
    scheduler.close()


async def test_max_queued_is_a_scheduler_option(fake_clock: FakeClock) -> None:
    scheduler = Scheduler(clock=fake_clock, timezone="UTC", max_queued=3000).start()

    async def slow(ctx: TaskContext) -> None:
        await ctx.sleep(1)

    scheduler.register_handler("h", slow)
    task = scheduler.create_task(name="t", handler="h", trigger={"type": "event", "eventType": "e"})
    for i in range(2000):
        scheduler.emit("e", i)
    assert task.missed_count == 0
    await scheduler.stop(grace=0)
    scheduler.close()
    with pytest.raises(ValueError, match="max_queued must be a positive integer, got 0"):
        Scheduler(max_queued=0)


async def test_handlers_emitting_each_others_events_are_cut_at_the_depth(
    fake_scheduler: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "cognia_nb.scheduler")
    runs = {"ping": 0, "pong": 0}

    def make(name: str, other: str) -> Any:
        async def handler(ctx: TaskContext) -> None:
            runs[name] += 1
            fake_scheduler.emit(other, None)

        return handler

    for name, other in (("ping", "pong"), ("pong", "ping")):
        fake_scheduler.register_handler(name, make(name, other))
        fake_scheduler.create_task(
            name=name, handler=name, trigger={"type": "event", "eventType": name}
        )
    fake_scheduler.emit("ping")
    await settle()
    assert runs["ping"] + runs["pong"] == MAX_EVENT_DEPTH + 1  # the emit and 8 links
    cut = [r for r in caplog.records if "event chain stopped" in r.getMessage()]
    assert len(cut) == 1 and f"after {MAX_EVENT_DEPTH} links" in cut[0].getMessage()


async def test_an_emit_storm_from_sync_handlers_does_not_starve_the_loop(
    fake_clock: FakeClock,
) -> None:
    scheduler = Scheduler(clock=fake_clock, timezone="UTC").start()
    runs = [0]

    def fan_out(ctx: TaskContext) -> None:  # from a thread: two events per run
        runs[0] += 1
        scheduler.emit("storm", None)
        scheduler.emit("storm", None)

    scheduler.register_handler("h", fan_out)
    scheduler.create_task(name="t", handler="h", trigger={"type": "event", "eventType": "storm"})
    probe: list[int] = []

    async def probe_loop() -> None:
        for i in range(50):
            probe.append(i)
            await asyncio.sleep(0)

    probing = asyncio.ensure_future(probe_loop())
    scheduler.emit("storm", None)
    for _ in range(5000):
        await asyncio.to_thread(lambda: None)
        await settle()
        if not scheduler._runner.live:
            break
    await probing
    assert len(probe) == 50  # the loop kept serving others
    assert runs[0] == 2 ** (MAX_EVENT_DEPTH + 1) - 1  # a full binary tree of depth 8, no more
    assert scheduler._firing.chains_cut == 2 ** (MAX_EVENT_DEPTH + 1)
    await scheduler.stop()
    scheduler.close()
