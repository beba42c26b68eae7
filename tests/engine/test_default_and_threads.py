"""get_scheduler(), the @task decorator, and calls into the scheduler from threads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

import cognia_nb
from cognia_nb import ExecutionStatus, Scheduler, TaskContext, TaskStatus, TaskValidationError
from cognia_nb._default import reset_default_scheduler
from cognia_nb.testing import FakeClock


@pytest_asyncio.fixture
async def default_scheduler(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Scheduler]:
    monkeypatch.setenv("COGNIA_NB_STORE", "memory")
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/analysis.ipynb")
    await reset_default_scheduler()
    scheduler = cognia_nb.get_scheduler()
    yield scheduler
    await reset_default_scheduler()


async def test_get_scheduler_is_started_and_shared(default_scheduler: Scheduler) -> None:
    assert default_scheduler.running
    assert cognia_nb.get_scheduler() is default_scheduler


async def test_task_decorator_is_rerun_safe(default_scheduler: Scheduler) -> None:
    for _ in range(3):  # the same cell run three times

        @cognia_nb.task(interval=60, retry_attempts=2, retry_delay=5, tags=["etl"])
        async def refresh(ctx: TaskContext) -> str:
            return "fresh"

    (task,) = default_scheduler.list_tasks()
    assert task.name == "refresh" and task.plugin_id == "notebook:/home/me/analysis.ipynb"
    assert task.retry.max_attempts == 3 and task.retry.delay_seconds == 5
    assert refresh.cognia_task is task  # type: ignore[attr-defined]
    ex = await default_scheduler.wait_for(default_scheduler.run_task_now(task.id), timeout=5)
    assert ex.output == "fresh"


async def test_task_decorator_options(default_scheduler: Scheduler) -> None:
    @cognia_nb.task(cron="0 9 * * *", timezone="Europe/Berlin", enabled=False, name="report")
    def report(ctx: TaskContext) -> None:
        """Daily report."""

    task = default_scheduler.get_task("report")
    assert task.status is TaskStatus.PAUSED and task.description == "Daily report."
    assert task.trigger.describe() == "At 09:00 AM (Europe/Berlin)"
    with pytest.raises(TaskValidationError, match="exactly one of cron=, interval="):
        cognia_nb.task(cron="* * * * *", interval=5)
    with pytest.raises(TaskValidationError, match="retry_attempts"):
        cognia_nb.task(interval=5, retry_attempts=-1)(report)


async def test_sync_handler_calls_the_scheduler_from_its_thread() -> None:
    clock = FakeClock()
    scheduler = Scheduler(clock=clock, timezone="UTC").start()
    out: list[str] = []

    def spawner(ctx: TaskContext) -> None:
        # In a worker thread: the call is carried over to the loop thread.
        task = scheduler.create_task(
            name="child", handler="child", trigger={"type": "event", "eventType": "e"}
        )
        out.append(scheduler.run_task_now(task.id))

    scheduler.register_handler("spawner", spawner)
    scheduler.register_handler("child", lambda: "child ran")
    parent = scheduler.create_task(
        name="parent", handler="spawner", trigger={"type": "event", "eventType": "e"}
    )
    ex = await scheduler.wait_for(scheduler.run_task_now(parent.id), timeout=5)
    assert ex.status is ExecutionStatus.SUCCEEDED, ex.error
    child = await scheduler.wait_for(out[0], timeout=5)
    assert child.output == "child ran"
    await scheduler.stop()
    scheduler.close()


async def test_stop_cancels_running_and_records_it() -> None:
    scheduler = Scheduler(timezone="UTC").start()

    async def forever(ctx: TaskContext) -> None:
        await asyncio.Event().wait()

    scheduler.register_handler("f", forever)
    task = scheduler.create_task(name="f", handler="f", trigger={"type": "event", "eventType": "e"})
    xid = scheduler.run_task_now(task.id)
    await asyncio.sleep(0.01)
    await scheduler.stop(grace=0.1)  # it never ends by itself: cancelled after 0.1 s
    ex = scheduler.get_execution(xid)
    assert ex.status is ExecutionStatus.CANCELLED and ex.reason == "shutdown"
    scheduler.close()


async def test_default_store_is_sqlite_under_the_jupyter_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("COGNIA_NB_STORE", raising=False)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jdata"))
    await reset_default_scheduler()
    try:
        scheduler = cognia_nb.get_scheduler()
        assert scheduler.store.location == str(tmp_path / "jdata" / "cognia_nb" / "scheduler.db")
        assert (tmp_path / "jdata" / "cognia_nb" / "scheduler.db").exists()
    finally:
        await reset_default_scheduler()
    monkeypatch.setenv("COGNIA_NB_STORE", str(tmp_path / "elsewhere.db"))
    try:
        assert cognia_nb.get_scheduler().store.location == str(tmp_path / "elsewhere.db")
    finally:
        await reset_default_scheduler()


async def test_autojump_runs_an_hour_of_schedule_at_once() -> None:
    clock = FakeClock(autojump=True)
    scheduler = Scheduler(clock=clock, timezone="UTC").start()
    seen: list[float] = []

    async def tick(ctx: TaskContext) -> None:
        seen.append(clock.now())

    scheduler.register_handler("tick", tick)
    scheduler.create_task(name="tick", handler="tick", trigger={"type": "interval", "seconds": 600})
    start = clock.now()
    await clock.sleep(3600)  # an hour of fake time, no real waiting
    assert [round(t - start) for t in seen] == [600, 1200, 1800, 2400, 3000, 3600][: len(seen)]
    assert len(seen) >= 5
    await clock.aclose()
    await scheduler.stop()
    scheduler.close()


WAIT_FOR_SYNC = """
import asyncio, json, threading
from cognia_nb import Scheduler

done = {}

async def main():
    scheduler = Scheduler(timezone="UTC").start()

    async def work(ctx):
        await asyncio.sleep(0.05)
        return "ready"

    scheduler.register_handler("w", work)
    task = scheduler.create_task(name="w", handler="w", trigger={"type": "event", "eventType": "e"})

    def from_thread():  # plain synchronous code in another thread
        done["thread"] = scheduler.wait_for_sync(scheduler.run_task_now(task.id), 5).output

    thread = threading.Thread(target=from_thread)
    thread.start()
    await asyncio.to_thread(thread.join, 10)
    # synchronous code on the loop's own thread (a notebook cell): the explicit opt-in
    done["loop"] = scheduler.wait_for_sync(scheduler.run_task_now(task.id), 5).output
    await scheduler.stop()
    scheduler.close()

asyncio.run(main())
print(json.dumps(done))
"""


def test_wait_for_sync_from_a_plain_thread_and_inside_a_loop() -> None:
    # In its own process: nest-asyncio2 patches asyncio for the rest of the process.
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", WAIT_FOR_SYNC], capture_output=True, text=True,
                         timeout=60, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"thread": "ready", "loop": "ready"}


async def test_task_decorator_takes_an_executor(fake_scheduler: Scheduler) -> None:
    def fn(context: TaskContext) -> None:
        return None

    with pytest.raises(TaskValidationError, match=r"executor 'gpu' is not configured"):
        cognia_nb.task(interval=5, executor="gpu", scheduler=fake_scheduler)(fn)
    assert fake_scheduler.list_tasks() == []
