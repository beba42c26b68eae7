"""The SQLite store: round trips, restart state, faults, retention (real files)."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from cognia_nb import ExecutionStatus, Scheduler, StoreError, TaskContext
from cognia_nb.stores import SQLiteStore, _procs
from cognia_nb.testing import FakeClock


async def noop(ctx: TaskContext) -> dict[str, object]:
    return {"success": True, "output": {"n": 1}, "metrics": {"rows": 3, "secs": 0.5}}


def make_scheduler(path: Path, clock: FakeClock | None = None) -> Scheduler:
    return Scheduler(store=str(path), clock=clock or FakeClock(), timezone="UTC")


async def test_file_is_private_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "s.db"
    scheduler = make_scheduler(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    scheduler.close()


async def test_running_execution_of_a_dead_process_becomes_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.open()
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO processes (owner, host, pid, started_ts) "
        "VALUES ('ghost:999999:1:x', ?, 999999, 0)",
        (__import__("socket").gethostname(),),
    )
    now = time.time()
    conn.execute(
        "INSERT INTO executions (id, task_id, plugin_id, task_name, trigger_kind, status, "
        "attempt, created_ts, scheduled_ts, started_ts, owner) VALUES "
        "('x1', 't1', 'p', 'n', 'schedule', 'running', 1, ?, ?, ?, 'ghost:999999:1:x')",
        (now, now, now),
    )
    conn.commit()
    conn.close()
    store.close()
    reopened = SQLiteStore(path)
    reopened.open()
    ex = reopened.get_execution("x1")
    assert ex is not None and ex.status is ExecutionStatus.INTERRUPTED
    assert ex.reason is not None and "ghost:999999" in ex.reason and ex.finished_ts
    reopened.close()


def test_corrupt_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    garbage = b"this is not sqlite" * 100
    path.write_bytes(garbage)
    with pytest.raises(
        StoreError, match=r"bad\.db.*not a readable SQLite database.*COGNIA_NB_STORE"
    ):
        Scheduler(store=str(path))
    assert path.read_bytes() == garbage


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Scheduler(store=str(path)).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"newer cognia_nb \(schema 99.*upgrade cognia_nb"):
        Scheduler(store=str(path))
    assert path.read_bytes() == before


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"SQLite database of something else.*customers"):
        Scheduler(store=str(path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_directory(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(StoreError, match=r"ro/s\.db.*cannot create"):
            Scheduler(store=str(ro / "s.db"))
    finally:
        ro.chmod(0o700)


def test_read_only_directory_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # root ignores permissions; a path under a regular file cannot be created by anyone
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=r"file/s\.db.*cannot create the database file"):
        Scheduler(store=str(blocker / "s.db"))


def test_network_file_system_warns_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_procs, "network_fs_type", lambda path: "nfs4")
    from cognia_nb.stores import sqlite as sqlite_mod

    monkeypatch.setattr(sqlite_mod, "network_fs_type", lambda path: "nfs4")
    path = tmp_path / "n.db"
    with pytest.warns(RuntimeWarning, match=r"network file system \(nfs4\).*local disk"):
        Scheduler(store=str(path)).close()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Scheduler(store=str(path)).close()


def test_network_fs_detection_reads_mounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nserver:/x {tmp_path} nfs4 rw 0 0\n")
    real = Path

    def fake_path(p: str) -> Path:
        return mounts if p == "/proc/mounts" else real(p)

    monkeypatch.setattr(_procs, "Path", fake_path)
    assert _procs.network_fs_type(tmp_path / "a.db") == "nfs4"
    assert _procs.network_fs_type(real("/usr")) is None


def test_a_version_1_store_is_migrated_with_its_tasks_and_their_state(tmp_path: Path) -> None:
    from cognia_nb.stores._schema import MIGRATIONS, SCHEMA_VERSION, current_version

    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
    conn.execute(
        "INSERT INTO tasks (id, plugin_id, name, handler, trigger, retry, tags, status, overlap, "
        "misfire, misfire_grace, jitter, executor, created_ts, updated_ts, next_run_ts, "
        "last_run_ts, skipped_count, missed_count, run_count, claimed_due, claimed_by) "
        "VALUES ('t_1', 'default', 'old', 'h', "
        '\'{"type": "interval", "seconds": 60, "startAt": "2024-01-01T00:00:00+00:00"}\', '
        "NULL, '[\"x\"]', 'paused', 'skip', 'coalesce', 1.0, 0.0, 'default', 1.0, 2.0, "
        "1704067260.0, 1704067200.0, 1, 2, 5, 1704067200.0, 'gone')"
    )
    conn.close()
    store = SQLiteStore(path)
    store.open()
    (task,) = store.load_tasks()
    assert (task.name, task.tags, str(task.status)) == ("old", ("x",), "paused")
    assert (task.run_count, task.missed_count, task.skipped_count) == (5, 2, 1)
    assert (task.next_run_ts, task.last_run_ts) == (1704067260.0, 1704067200.0)
    check = sqlite3.connect(path)
    assert current_version(check) == SCHEMA_VERSION == len(MIGRATIONS)
    assert check.execute("SELECT claimed_due, claimed_by FROM task_state").fetchone() == (
        1704067200.0,
        "gone",
    )
    check.close()
    store.close()
