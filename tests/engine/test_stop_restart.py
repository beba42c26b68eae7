"""A clean stop leaves the store true; the next start continues the phase (real SQLite)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cognia_nb import ExecutionStatus, Scheduler, TaskContext
from cognia_nb.testing import FakeClock

T0 = 1_704_067_200.0  # 2024-01-01T00:00:00Z


async def noop(ctx: TaskContext) -> None:
    return None


def fired_at(path: Path) -> list[float]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT scheduled_ts FROM executions ORDER BY scheduled_ts").fetchall()
    return [r[0] - T0 for r in rows]


def stored_next_run(path: Path) -> float | None:
    with sqlite3.connect(path) as conn:
        (value,) = conn.execute("SELECT next_run_ts FROM task_state").fetchone()
    return None if value is None else value - T0


async def session(path: Path, start: float, seconds: float) -> Scheduler:
    clock = FakeClock(T0 + start)
    scheduler = Scheduler(store=str(path), clock=clock, timezone="UTC").start()
    scheduler.register_handler("noop", noop)
    if not scheduler.list_tasks():
        scheduler.create_task(
            name="every10", handler="noop", trigger={"type": "interval", "seconds": 10}
        )
    await clock.advance(seconds)
    await scheduler.stop()
    scheduler.close()
    await clock.aclose()
    return scheduler


async def test_restart_after_a_clean_stop_continues_the_phase(tmp_path: Path) -> None:
    path = tmp_path / "phase.db"
    await session(path, 0, 35)  # fires at 10, 20, 30
    assert fired_at(path) == [10, 20, 30]
    assert stored_next_run(path) == 40  # kept by the stop
    with sqlite3.connect(path) as conn:  # the claims of the stopped process are released
        assert conn.execute("SELECT claimed_by, claimed_due FROM task_state").fetchall() == [
            (None, T0 + 30)
        ]
    await session(path, 35, 10)  # restarted before 40: fires at 40, no duplicate of 30
    assert fired_at(path) == [10, 20, 30, 40]
    assert stored_next_run(path) == 50
    await session(path, 72, 0.5)  # down over 50, 60, 70: coalesced into one run (misfire)
    times = fired_at(path)
    assert times[:4] == [10, 20, 30, 40] and len(times) == 5 and times[4] == 50
    with sqlite3.connect(path) as conn:
        missed, status = conn.execute(
            "SELECT missed, status FROM executions ORDER BY scheduled_ts DESC LIMIT 1"
        ).fetchone()
    assert (missed, status) == (2, "succeeded")
    assert stored_next_run(path) == 80


async def test_stop_records_a_running_execution_as_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "running.db"
    clock = FakeClock(T0)
    scheduler = Scheduler(store=str(path), clock=clock, timezone="UTC").start()

    async def long(ctx: TaskContext) -> None:
        await ctx.sleep(100)

    scheduler.register_handler("long", long)
    task = scheduler.create_task(
        name="long", handler="long", trigger={"type": "interval", "seconds": 60}
    )
    await clock.advance(61)
    await scheduler.stop(grace=0)
    scheduler.close()
    reopened = Scheduler(store=str(path), clock=FakeClock(T0 + 62), timezone="UTC")
    (ex,) = reopened.get_executions(task.id)
    assert ex.status is ExecutionStatus.CANCELLED and ex.reason == "shutdown"
    assert reopened.get_task(task.id).next_run_ts == T0 + 120
    reopened.close()


@pytest.mark.parametrize("grace", [-1.0, float("nan"), "5"])
async def test_stop_refuses_a_bad_grace(fake_scheduler: Scheduler, grace: object) -> None:
    with pytest.raises(ValueError, match="grace must be"):
        await fake_scheduler.stop(grace)  # type: ignore[arg-type]
    assert fake_scheduler.running  # nothing was stopped
