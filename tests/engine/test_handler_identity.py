"""Handlers given as functions are bound by identity, not by name; deleting tasks frees the
dispatcher's entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cognia_nb import Scheduler, TaskContext
from cognia_nb.testing import FakeClock

EVENT = {"type": "event", "eventType": "never"}


def make_report(city: str, ran: list[str]) -> Callable[[TaskContext], Any]:
    async def report(ctx: TaskContext) -> str:  # same __name__ for every city
        ran.append(city)
        return city

    return report


async def test_three_tasks_from_one_factory_each_run_their_own_closure(
    fake_scheduler: Scheduler,
) -> None:
    ran: list[str] = []
    tasks = {
        city: fake_scheduler.create_task(
            name=f"report {city}", handler=make_report(city, ran), trigger=EVENT
        )
        for city in ("Berlin", "Paris", "Tokyo")
    }
    for city, task in tasks.items():
        ex = await fake_scheduler.wait_for(fake_scheduler.run_task_now(task.id), timeout=5)
        assert ex.output == city
    assert ran == ["Berlin", "Paris", "Tokyo"]
    assert {t.handler for t in tasks.values()} == {"report"}  # the name stays for display


async def test_lambdas_are_told_apart(fake_scheduler: Scheduler) -> None:
    a = fake_scheduler.create_task(name="a", handler=lambda: "A", trigger=EVENT)
    b = fake_scheduler.create_task(name="b", handler=lambda: "B", trigger=EVENT)
    assert (await fake_scheduler.wait_for(fake_scheduler.run_task_now(a.id), 5)).output == "A"
    assert (await fake_scheduler.wait_for(fake_scheduler.run_task_now(b.id), 5)).output == "B"


async def test_a_rerun_cell_redefining_the_function_updates_the_task_in_place(
    fake_scheduler: Scheduler,
) -> None:
    def job() -> str:
        return "v1"

    first = fake_scheduler.create_task(name="job", handler=job, trigger=EVENT)

    def job() -> str:  # type: ignore[no-redef]  # the cell, run again
        return "v2"

    second = fake_scheduler.create_task(name="job", handler=job, trigger=EVENT)
    assert second is first and len(fake_scheduler.list_tasks()) == 1
    ex = await fake_scheduler.wait_for(fake_scheduler.run_task_now(first.id), timeout=5)
    assert ex.output == "v2"


async def test_a_task_named_by_string_follows_the_latest_registration(
    fake_scheduler: Scheduler,
) -> None:
    def job() -> str:
        return "function"

    bound = fake_scheduler.create_task(name="bound", handler=job, trigger=EVENT)
    named = fake_scheduler.create_task(name="named", handler="job", trigger=EVENT)
    fake_scheduler.register_handler("job", lambda: "registered")
    out_named = await fake_scheduler.wait_for(fake_scheduler.run_task_now(named.id), 5)
    out_bound = await fake_scheduler.wait_for(fake_scheduler.run_task_now(bound.id), 5)
    assert (out_named.output, out_bound.output) == ("registered", "function")


async def test_switching_a_task_to_a_handler_name_drops_its_function(
    fake_scheduler: Scheduler,
) -> None:
    fake_scheduler.register_handler("other", lambda: "other")
    task = fake_scheduler.create_task(name="t", handler=lambda: "lambda", trigger=EVENT)
    fake_scheduler.create_task(name="t", handler="other", trigger=EVENT)
    ex = await fake_scheduler.wait_for(fake_scheduler.run_task_now(task.id), timeout=5)
    assert ex.output == "other"


async def test_deleting_tasks_frees_the_dispatcher_entries(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    async def noop() -> None:
        return None

    dispatcher = fake_scheduler._dispatcher
    for round_ in range(3):
        ids = [
            fake_scheduler.create_task(
                name=f"t{round_}-{i}", handler=noop, trigger={"type": "interval", "seconds": 60}
            ).id
            for i in range(3000)
        ]
        for task_id in ids:
            fake_scheduler.delete_task(task_id)
        assert len(dispatcher._gen) == 0
        assert len(dispatcher) <= 1024 + 1
        assert len(fake_scheduler._bound) == 0
    again = fake_scheduler.create_task(
        name="t0-0", handler=noop, trigger={"type": "interval", "seconds": 60}
    )
    await fake_clock.advance(60)
    assert again.run_count == 1  # a stale entry of the deleted task of the same id never fires
