"""DaskExecutor on a real LocalCluster: 2 worker processes on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402

from cognia_nb import ExecutionStatus, Scheduler, TaskValidationError  # noqa: E402
from cognia_nb.executors import DaskExecutor  # noqa: E402

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=2,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )
    yield local
    local.close()


@pytest.fixture
async def sched(cluster: Any) -> Any:
    s = Scheduler(timezone="UTC", executors={"dask": DaskExecutor(cluster.scheduler_address)})
    s.start()
    yield s
    await s.stop()
    s.close()


def task_on_dask(s: Scheduler, name: str, fn: Any, **kw: Any) -> str:
    s.register_handler(name, fn)
    return s.create_task(
        name=name,
        handler=name,
        executor="dask",
        trigger={"type": "event", "eventType": "never"},
        **kw,
    ).id


async def test_runs_on_a_worker_with_progress_and_logs(sched: Scheduler) -> None:
    def where(context: Any) -> int:  # defined here, like a cell's function
        context.report_progress(40, "halfway")
        context.log("info", "on a worker", pid=os.getpid())
        time.sleep(0.2)
        context.report_progress(100, "done")
        return os.getpid()

    tid = task_on_dask(sched, "where", where)
    ex = await sched.wait_for(sched.run_task_now(tid), timeout=60)
    assert ex.status is ExecutionStatus.SUCCEEDED, ex.error
    assert ex.output != os.getpid()
    assert ex.progress == 100 and ex.progress_message == "done"
    assert [e.message for e in ex.logs] == ["on a worker"]


async def test_async_handler_cancel_stops_it_within_200ms(sched: Scheduler,
                                                         tmp_path: Path) -> None:  # fmt: skip
    marker = tmp_path / "stopped"

    async def waits(context: Any) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            marker.write_text(str(time.time()))
            raise

    tid = task_on_dask(sched, "waits", waits)
    xid = sched.run_task_now(tid)
    await asyncio.sleep(1.5)  # running on the worker
    cancelled_at = time.time()
    sched.cancel_execution(xid)
    for _ in range(100):
        if marker.exists():
            break
        await asyncio.sleep(0.01)
    assert marker.exists()
    assert float(marker.read_text()) - cancelled_at < 0.2
    ex = await sched.wait_for(xid, timeout=10)  # recorded once the worker's handler ended
    assert ex.status is ExecutionStatus.CANCELLED


async def test_timeout_is_enforced_on_the_worker(sched: Scheduler, tmp_path: Path) -> None:
    marker = tmp_path / "timed-out"

    def loops(context: Any) -> None:
        while not context.signal.aborted:
            time.sleep(0.01)
        marker.write_text(context.signal.reason or "")

    tid = task_on_dask(sched, "loops", loops, timeout=1)
    ex = await sched.wait_for(sched.run_task_now(tid), timeout=30)
    assert ex.status is ExecutionStatus.TIMED_OUT
    for _ in range(200):
        if marker.exists():
            break
        await asyncio.sleep(0.01)
    assert marker.read_text() == "timeout"  # the worker's own signal fired


async def test_a_killed_worker_is_a_failed_attempt_and_the_retry_runs(
    sched: Scheduler, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"

    def slow(context: Any) -> str:
        if context.attempt_number == 1:
            pid_file.write_text(str(os.getpid()))
            time.sleep(30)
        return f"attempt {context.attempt_number}"

    tid = task_on_dask(sched, "slow", slow, retry={"maxAttempts": 2, "delaySeconds": 0.5})
    xid = sched.run_task_now(tid)
    for _ in range(600):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.05)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    ex = await sched.wait_for(xid, timeout=90)
    assert ex.status is ExecutionStatus.SUCCEEDED, ex.error
    assert ex.attempt == 2 and ex.output == "attempt 2"
    assert any("worker died" in e.message for e in ex.logs)


async def test_two_hundred_executions_all_recorded(sched: Scheduler) -> None:
    def square(args: Any, context: Any) -> int:
        return int(args) ** 2

    sched.register_handler("square", square)
    ids = []
    for i in range(20):
        task = sched.create_task(
            name=f"sq{i}",
            handler="square",
            executor="dask",
            args=i,
            overlap="allow",
            trigger={"type": "event", "eventType": "x"},
        )
        ids += [sched.run_task_now(task.id) for _ in range(10)]
    done = await asyncio.gather(*(sched.wait_for(x, timeout=90) for x in ids))
    assert len(done) == 200
    assert all(e.status is ExecutionStatus.SUCCEEDED for e in done)
    assert sorted({e.output for e in done}) == [i * i for i in range(20)]


async def test_pickling_preflight_names_the_culprit(sched: Scheduler) -> None:
    lock = threading.Lock()

    def locked(context: Any) -> None:
        with lock:
            return None

    sched.register_handler("locked", locked)
    with pytest.raises(TaskValidationError, match=r"cannot be pickled.*'lock', a lock"):
        sched.create_task(
            name="locked",
            handler="locked",
            executor="dask",
            trigger={"type": "interval", "seconds": 60},
        )
    assert sched.list_tasks() == []
    with pytest.raises(TaskValidationError, match=r"executor 'gpu' is not configured"):
        sched.create_task(
            name="x", handler="locked", executor="gpu", trigger={"type": "interval", "seconds": 60}
        )


async def test_hard_cancel_restarts_the_worker_of_a_stuck_sync_handler(
    cluster: Any, tmp_path: Path
) -> None:
    s = Scheduler(
        timezone="UTC",
        executors={"dask": DaskExecutor(cluster.scheduler_address, hard_cancel=True)},
    )
    s.start()
    pid_file = tmp_path / "pid"

    def stubborn(context: Any) -> None:
        pid_file.write_text(str(os.getpid()))
        time.sleep(60)  # ignores its signal

    try:
        tid = task_on_dask(s, "stubborn", stubborn)
        xid = s.run_task_now(tid)
        for _ in range(600):
            if pid_file.exists() and pid_file.read_text():
                break
            await asyncio.sleep(0.05)
        pid = int(pid_file.read_text())
        s.cancel_execution(xid)
        for _ in range(300):  # the worker process running it is replaced
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the worker of the stuck handler was not restarted")
        ex = await s.wait_for(xid, timeout=30)  # ends once the executor has given it up
        assert ex.status is ExecutionStatus.CANCELLED
    finally:
        await s.stop()
        s.close()
