"""The store contract: what every shared store does, run on SQLite and on PostgreSQL (one
suite, the ``place`` fixture of ``conftest.py``)."""

from __future__ import annotations

import asyncio
import threading
import time

from cognia_nb import Scheduler, TaskContext, TaskStatus
from cognia_nb._model.task import Task
from cognia_nb.testing import FakeClock

from .conftest import Place


async def noop(ctx: TaskContext) -> dict[str, object]:
    return {"success": True, "output": {"n": 1}, "metrics": {"rows": 3, "secs": 0.5}}


def make_scheduler(place: Place, clock: FakeClock | None = None) -> Scheduler:
    return Scheduler(store=place.store(), clock=clock or FakeClock(), timezone="UTC")


async def test_tasks_and_executions_survive_a_restart(place: Place) -> None:
    clock = FakeClock()
    first = make_scheduler(place, clock).start()
    first.register_handler("h", noop)
    every = first.create_task(
        name="every",
        handler="h",
        trigger={"type": "interval", "seconds": 60},
        tags=["a"],
        retry={"maxAttempts": 2, "delaySeconds": 5},
    )
    paused = first.create_task(
        name="paused", handler="h", trigger={"type": "cron", "expression": "0 * * * *"}
    )
    first.create_task(
        name="once", handler="h", trigger={"type": "once", "runAt": "2024-01-01T00:02:00Z"}
    )
    first.pause_task(paused.id)
    await clock.advance(150)
    ex_ids = [e.id for e in first.get_executions(every.id)]
    assert len(ex_ids) == 2
    await first.stop()
    first.close()

    clock2 = FakeClock(clock.now())
    second = make_scheduler(place, clock2)
    tasks = {t.name: t for t in second.list_tasks()}
    assert tasks["every"].id == every.id and tasks["every"].tags == ("a",)
    assert tasks["every"].retry.max_attempts == 2
    assert tasks["every"].trigger.start_at == every.trigger.start_at  # the anchor is kept
    assert tasks["paused"].status is TaskStatus.PAUSED
    assert tasks["once"].status is TaskStatus.COMPLETED
    assert all(t.handler_missing for t in tasks.values())
    execs = second.get_executions(every.id)
    assert [e.id for e in execs] == ex_ids
    assert execs[0].output == {"n": 1} and execs[0].metrics == {"rows": 3, "secs": 0.5}
    # The handler comes back: the task fires again on its original phase.
    second.start()
    second.register_handler("h", noop)
    await clock2.advance(30)
    assert len(second.get_executions(every.id)) == 3
    assert second.get_latest_execution(every.id).scheduled_ts == clock.now() - 150 + 180 - 0
    await second.stop()
    second.close()


async def test_downtime_is_caught_up_by_the_misfire_policy(place: Place) -> None:
    clock = FakeClock()
    first = make_scheduler(place, clock).start()
    first.register_handler("h", noop)
    task = first.create_task(name="t", handler="h", trigger={"type": "interval", "seconds": 60})
    await clock.advance(60)
    await first.stop()
    first.close()
    later = FakeClock(clock.now() + 600)  # ten minutes down
    second = make_scheduler(place, later).start()
    second.register_handler("h", noop)
    await later.advance(0)
    latest = second.get_latest_execution(task.id)
    assert latest is not None and latest.missed == 9  # one coalesced run for 10 firings
    assert second.get_task(task.id).missed_count == 9
    await second.stop()
    second.close()


async def test_retention_prunes_old_executions(place: Place) -> None:
    store = place.store(max_executions_per_task=5, max_age_days=1)
    clock = FakeClock(time.time())
    scheduler = Scheduler(store=store, clock=clock, timezone="UTC").start()
    scheduler.register_handler("h", noop)
    task = scheduler.create_task(name="t", handler="h", trigger={"type": "interval", "seconds": 1})
    await clock.advance(12)
    store.flush()
    store._last_prune = 0  # the next commit prunes
    scheduler.run_task_now(task.id)
    await clock.advance(1)
    store.flush()
    count = place.query("SELECT count(*) FROM executions")[0][0]
    assert count <= 6  # 5 kept (+ at most one written after the prune)
    await scheduler.stop()
    scheduler.close()


def _claim(store: object, items: list[tuple[Task, float]]) -> list[bool]:
    got: list[list[bool]] = []
    done = threading.Event()

    def answer(won: list[bool]) -> None:
        got.append(won)
        done.set()

    store.claim_batch(items, answer)  # type: ignore[attr-defined]
    assert done.wait(30)
    return got[0]


async def test_each_due_time_is_claimed_once_across_stores(place: Place) -> None:
    maker = Scheduler(store=place.store(), clock=FakeClock(), timezone="UTC").start()
    maker.register_handler("h", noop)
    every = {"type": "interval", "seconds": 60}
    tasks = [maker.create_task(name=f"t{i}", handler="h", trigger=every) for i in range(50)]
    maker.store.flush()
    stores = [place.store() for _ in range(3)]
    for store in stores:
        store.open()
    try:
        loaded = [{t.id: t for t in s.load_tasks()} for s in stores]
        dues = [1000.0, 1060.0]
        results: list[list[list[bool]]] = [[] for _ in stores]

        def race(i: int) -> None:
            for due in dues:
                items = [(loaded[i][t.id], due) for t in tasks]
                results[i].append(_claim(stores[i], items))

        threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for d in range(len(dues)):
            for k in range(len(tasks)):
                winners = [i for i in range(len(stores)) if results[i][d][k]]
                assert len(winners) == 1, (dues[d], tasks[k].name, winners)
        # an earlier due time than the one claimed is never won again
        assert _claim(stores[0], [(loaded[0][tasks[0].id], 999.0)]) == [False]
    finally:
        for store in stores:
            store.close()
        await maker.stop()
        maker.close()


async def test_a_claim_of_many_firings_answers_each(place: Place) -> None:
    # More firings than one statement takes (SQLite: chunks of 512, the rest in powers of two;
    # PostgreSQL: one statement): every one is answered, won or lost, in order.
    maker = Scheduler(store=place.store(), clock=FakeClock(), timezone="UTC")
    every = {"type": "interval", "seconds": 60}
    tasks = [maker.create_task(name=f"t{i}", handler="h", trigger=every) for i in range(1300)]
    maker.store.flush()
    store = place.store()
    store.open()
    try:
        loaded = {t.id: t for t in store.load_tasks()}
        assert _claim(store, [(loaded[t.id], 1000.0) for t in tasks]) == [True] * len(tasks)
        # the odd ones again at the same due time (lost), the even ones at the next (won)
        items = [(loaded[t.id], 1000.0 if i % 2 else 1060.0) for i, t in enumerate(tasks)]
        assert _claim(store, items) == [not i % 2 for i in range(len(tasks))]
        assert _claim(store, [(loaded[tasks[1].id], 1060.0)]) == [True]
    finally:
        store.close()
        maker.close()


async def test_changes_reach_another_process_within_a_second(place: Place) -> None:
    a = Scheduler(store=place.store(), timezone="UTC").start()
    b = Scheduler(store=place.store(), timezone="UTC").start()
    try:
        a.register_handler("h", noop)
        b.register_handler("h", noop)
        task = a.create_task(name="t", handler="h", trigger={"type": "interval", "seconds": 600})
        a.store.flush()
        deadline = time.monotonic() + 5
        while "t" not in {t.name for t in b.list_tasks()} and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert b.get_task(task.id).status is TaskStatus.ACTIVE
        a.pause_task(task.id)
        a.store.flush()
        paused = time.monotonic()
        while b.get_task(task.id).status is not TaskStatus.PAUSED:
            assert time.monotonic() - paused < 1.0, "the pause took over a second to arrive"
            await asyncio.sleep(0.01)
        a.delete_task(task.id)
        a.store.flush()
        deleted = time.monotonic()
        while task.id in {t.id for t in b.list_tasks()}:
            assert time.monotonic() - deleted < 1.0, "the delete took over a second to arrive"
            await asyncio.sleep(0.01)
    finally:
        for s in (a, b):
            await s.stop()
            s.close()


async def test_a_pause_on_failures_survives_a_restart(place: Place) -> None:
    async def broken(ctx: TaskContext) -> None:
        raise RuntimeError("down")

    clock = FakeClock()
    first = make_scheduler(place, clock).start()
    first.register_handler("b", broken)
    task = first.create_task(name="f", handler="b", trigger={"type": "interval", "seconds": 60},
                             max_consecutive_failures=2)  # fmt: skip
    await clock.advance(130)
    assert first.get_task(task.id).status is TaskStatus.PAUSED
    await first.stop()
    first.close()
    again = make_scheduler(place, FakeClock(clock.now()))
    stored = again.get_task(task.id)
    assert stored.status is TaskStatus.PAUSED and stored.max_consecutive_failures == 2
    assert stored.pause_reason and "2" in stored.pause_reason
    again.close()
