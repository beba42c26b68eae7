"""A refused file is left byte for byte as it was, with no side files; read-only commands never
prune or write; retention belongs to the file; concurrent first opens all succeed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cognia_nb import Scheduler, StoreError
from cognia_nb.stores import SQLiteStore
from cognia_nb.stores._schema import SCHEMA_VERSION

SIDE = ("-wal", "-shm", "-journal")


def side_files(path: Path) -> list[str]:
    return [s for s in SIDE if Path(f"{path}{s}").exists()]


def made_store(path: Path) -> None:
    Scheduler(store=str(path)).close()
    assert side_files(path) == []


def newer_schema(path: Path) -> None:
    made_store(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()


def corrupt_page(path: Path) -> None:
    made_store(path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # page 1 after the header: sqlite_master's b-tree
    path.write_bytes(bytes(data))


def foreign_tables(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.execute("INSERT INTO customers VALUES (1)")
    conn.commit()
    conn.close()


REFUSED = {
    "newer_schema": (newer_schema, r"newer cognia_nb \(schema 99"),
    "corrupt_page": (corrupt_page, r"not a readable SQLite database \(corrupt\?\)"),
    "foreign_tables": (foreign_tables, r"SQLite database of something else.*customers"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "read_only"])
def test_a_refused_file_is_untouched(tmp_path: Path, case: str, read_only: bool) -> None:
    path = tmp_path / "s.db"
    make, message = REFUSED[case]
    make(path)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=message):
        SQLiteStore(path, read_only=read_only).open()
    assert path.read_bytes() == before  # the header's journal-mode bytes 18-19 included
    assert side_files(path) == []


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cognia_nb", *args],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def rows(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM executions").fetchone()[0])
    finally:
        conn.close()


def kept_store(path: Path, executions: int) -> None:
    """A store kept with 10,000 executions per task and no age limit, holding old rows."""
    store = SQLiteStore(path, max_executions_per_task=10_000, max_age_days=None)
    store.open()
    store.close()
    conn = sqlite3.connect(path)
    old = time.time() - 90 * 86_400
    conn.executemany(
        "INSERT INTO executions (id, task_id, plugin_id, task_name, trigger_kind, status, "
        "attempt, created_ts, scheduled_ts) VALUES (?, 't', 'p', 'job', 'manual', 'succeeded', "
        "1, ?, ?)",
        [(f"e{i}", old + i, old + i) for i in range(executions)],
    )
    conn.commit()
    conn.close()


@pytest.mark.timeout(180)
def test_read_only_commands_never_prune_or_write(tmp_path: Path) -> None:
    path = tmp_path / "kept.db"
    kept_store(path, 1500)
    before = path.read_bytes()
    for command in (["tasks"], ["history", "--limit", "5", "--format", "json"]):
        done = cli(*command, "--store", str(path))
        assert done.returncode == 0, done.stderr
        assert rows(path) == 1500
    assert path.read_bytes() == before


def test_a_later_writer_applies_the_retention_stored_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "kept.db"
    kept_store(path, 1500)
    store = SQLiteStore(path)  # no retention given: the file's
    store.open()
    assert (store.max_executions_per_task, store.max_age_days) == (10_000, None)
    store.flush()
    store._w().flush()
    store.close()
    assert rows(path) == 1500


def test_a_new_file_stores_the_default_retention(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    made_store(path)
    conn = sqlite3.connect(path)
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'retention.%'"))
    conn.close()
    assert meta == {"retention.max_executions_per_task": "1000", "retention.max_age_days": "30.0"}


@pytest.mark.parametrize("content", [b"", None], ids=["empty", "missing"])
def test_read_only_commands_refuse_an_empty_or_missing_file(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "e.db"
    if content is not None:
        path.write_bytes(content)
    done = cli("tasks", "--store", str(path))
    assert done.returncode != 0
    assert "does not exist" in done.stderr if content is None else "is empty" in done.stderr
    assert (path.read_bytes() == content) if content is not None else not path.exists()
    assert side_files(path) == []
    with pytest.raises(StoreError, match="read-only open never"):
        SQLiteStore(path, read_only=True).open()


OPEN_TOGETHER = r"""
import os, sys, time
from cognia_nb.stores import SQLiteStore
directory, rounds, t0, step = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
for i in range(rounds):
    time.sleep(max(0.0, t0 + i * step - time.time()))  # every process opens round i at once
    try:
        store = SQLiteStore(os.path.join(directory, f"r{i}.db"))
        store.open()
        store.close()
    except Exception as exc:
        print(f"round {i}: {exc!r}", flush=True)
"""


@pytest.mark.timeout(170)
def test_eight_processes_opening_a_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    procs, rounds, step = 8, 20, 0.4
    t0 = time.time() + 6  # time for every process to start
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_TOGETHER, str(tmp_path), str(rounds), str(t0), str(step)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(procs)
    ]
    outs = [w.communicate(timeout=150) for w in workers]
    assert [w.returncode for w in workers] == [0] * procs, [err[-2000:] for _, err in outs]
    assert [out for out, _ in outs if out] == []
    for i in range(rounds):
        conn = sqlite3.connect(tmp_path / f"r{i}.db")
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        conn.close()
        assert version == (str(SCHEMA_VERSION),)
