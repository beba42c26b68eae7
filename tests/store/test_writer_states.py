"""The SQLite writer's claims that carry task state, held state writes, and plain rows.

Real SQLite files; the writer's machinery is driven directly so that its timing (the hold)
is explicit rather than waited for.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cognia_nb import Scheduler, TaskContext
from cognia_nb.stores import SQLiteStore
from cognia_nb.stores._states import HeldStates
from cognia_nb.testing import FakeClock


async def work(ctx: TaskContext) -> object:
    return {"success": True, "output": {"n": ctx.attempt_number}} if ctx.args else None


def _state(path: Path, task_id: str) -> tuple[object, ...]:
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "SELECT status, next_run_ts, last_run_ts, run_count, claimed_due, claimed_by "
            "FROM task_state WHERE id = ?",
            (task_id,),
        ).fetchone()
    assert row is not None
    return tuple(row)


async def _fired(path: Path, seconds: float) -> tuple[Scheduler, str, FakeClock]:
    clock = FakeClock()
    scheduler = Scheduler(store=str(path), clock=clock, timezone="UTC").start()
    scheduler.register_handler("w", work)
    task = scheduler.create_task(name="t", handler="w", trigger={"type": "interval", "seconds": 1})
    await clock.advance(seconds)
    return scheduler, task.id, clock


async def test_flush_writes_the_exact_task_state(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    scheduler, task_id, _ = await _fired(path, 5.5)
    scheduler.store.flush()
    task = scheduler.get_task(task_id)
    status, next_run, last_run, runs, claimed_due, claimed_by = _state(path, task_id)
    assert (status, next_run, last_run, runs) == ("active", task.next_run_ts, task.last_run_ts, 5)
    assert claimed_due == task.last_run_ts  # the last firing was claimed
    assert str(claimed_by).startswith(scheduler.store.owner + "/")  # type: ignore[attr-defined]
    await scheduler.stop()
    scheduler.close()


def _store_with_task(tmp_path: Path) -> tuple[SQLiteStore, sqlite3.Connection, object]:
    clock = FakeClock()
    scheduler = Scheduler(store=str(tmp_path / "h.db"), clock=clock, timezone="UTC")
    task = scheduler.create_task(name="t", handler="w", trigger={"type": "interval", "seconds": 9})
    store = scheduler.store
    assert isinstance(store, SQLiteStore)
    store.flush()
    conn = sqlite3.connect(store.path, isolation_level=None)
    return store, conn, task


def test_a_won_claim_carries_the_held_state(tmp_path: Path) -> None:
    _, conn, task = _store_with_task(tmp_path)
    held = HeldStates(hold_seconds=3600)
    task.run_count, task._state_seq = 7, 1  # type: ignore[attr-defined]
    held.hold([task])  # type: ignore[list-item]
    conn.execute("BEGIN IMMEDIATE")
    assert held.claim(conn, "me", [(task, 100.0)]) == [True]  # type: ignore[list-item]
    assert held.write(conn) == 0 and len(held) == 0  # carried: nothing left to write
    conn.execute("COMMIT")
    assert conn.execute("SELECT run_count, claimed_due FROM task_state").fetchone() == (7, 100.0)


def test_a_lost_claim_leaves_the_state_held_until_written(tmp_path: Path) -> None:
    _, conn, task = _store_with_task(tmp_path)
    conn.execute("UPDATE task_state SET claimed_due = 100.0, claimed_by = 'other'")
    held = HeldStates(hold_seconds=3600)
    task.run_count, task._state_seq = 3, 1  # type: ignore[attr-defined]
    held.hold([task])  # type: ignore[list-item]
    conn.execute("BEGIN IMMEDIATE")
    assert held.claim(conn, "me", [(task, 100.0)]) == [False]  # type: ignore[list-item]
    assert held.write(conn) == 0 and len(held) == 1  # still young: held
    assert held.write(conn, everything=True) == 1  # a flush writes it
    conn.execute("COMMIT")
    assert conn.execute("SELECT run_count, claimed_by FROM task_state").fetchone() == (3, "other")


def test_state_changed_after_the_claim_read_it_stays_held(tmp_path: Path) -> None:
    _, conn, task = _store_with_task(tmp_path)
    held = HeldStates(hold_seconds=0)  # write at once what is held
    conn.execute("BEGIN IMMEDIATE")
    assert held.claim(conn, "me", [(task, 5.0)]) == [True]  # type: ignore[list-item]
    task.run_count, task._state_seq = 9, 4  # type: ignore[attr-defined]
    held.hold([task])  # a later change: newer than the claim
    assert held.write(conn) == 1
    conn.execute("COMMIT")
    assert conn.execute("SELECT run_count FROM task_state").fetchone() == (9,)


def test_one_firing_claimed_twice_is_won_once(tmp_path: Path) -> None:
    _, conn, task = _store_with_task(tmp_path)
    held = HeldStates()
    conn.execute("BEGIN IMMEDIATE")
    assert held.claim(conn, "me", [(task, 5.0), (task, 5.0)]) == [True, False]  # type: ignore[list-item]
    assert held.claim(conn, "me", [(task, 5.0)]) == [False]  # type: ignore[list-item]
    assert held.claim(conn, "me", [(task, 6.0)]) == [True]  # type: ignore[list-item]
    conn.execute("COMMIT")


async def test_plain_and_full_execution_rows_read_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    clock = FakeClock()
    scheduler = Scheduler(store=str(path), clock=clock, timezone="UTC").start()
    scheduler.register_handler("w", work)
    plain = scheduler.create_task(
        name="plain", handler="w", trigger={"type": "interval", "seconds": 1}
    )
    full = scheduler.create_task(
        name="full", handler="w", trigger={"type": "interval", "seconds": 1}, args={"x": 1}
    )
    await clock.advance(2.5)
    live = {e.id: e.to_dict() for t in (plain, full) for e in scheduler.get_executions(t.id)}
    await scheduler.stop()
    scheduler.close()
    again = Scheduler(store=str(path), clock=FakeClock(clock.now()), timezone="UTC")
    stored = {e.id: e.to_dict() for t in (plain, full) for e in again.get_executions(t.id)}
    assert stored == live and len(stored) == 4
    assert {d["output"] for d in stored.values() if d["taskName"] == "plain"} == {None}
    assert [d["output"] for d in stored.values() if d["taskName"] == "full"] == [{"n": 1}] * 2
    again.close()


def test_rows_go_in_chunks_of_powers_of_two() -> None:
    from cognia_nb.stores._sqlite_bulk import chunks

    assert chunks(0, 512) == []
    assert chunks(1300, 512) == [(0, 512), (512, 512), (1024, 256), (1280, 16), (1296, 4)]
    sizes = [count for _, count in chunks(1000, 512)]
    assert sum(sizes) == 1000 and all(c & (c - 1) == 0 for c in sizes)


def test_many_executions_are_written_in_few_statements(tmp_path: Path) -> None:
    from cognia_nb.stores._sqlite_bulk import insert_many

    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, x REAL, n INTEGER)")
    rows = [(f"r{i}", i / 3, i) for i in range(1300)]
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    insert_many(conn, "INSERT INTO t (id, x, n)", "ON CONFLICT(id) DO UPDATE SET x = excluded.x",
                rows)  # fmt: skip
    insert_many(conn, "INSERT INTO t (id, x, n)", "ON CONFLICT(id) DO UPDATE SET x = excluded.x",
                [(r[0], -r[1], r[2]) for r in rows[:3]])  # fmt: skip
    conn.set_trace_callback(None)
    assert len(statements) == 5 + 2  # 512, 512, 256, 16, 4; then 2, 1
    got = conn.execute("SELECT id, x, n FROM t ORDER BY n").fetchall()
    assert got == [(r[0], -r[1], r[2]) for r in rows[:3]] + rows[3:]
