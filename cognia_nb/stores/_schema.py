"""The SQLite schema, its version and its migrations."""

from __future__ import annotations

import sqlite3

from ._migrations import apply_migrations

__all__ = [
    "MIGRATIONS",
    "READABLE_VERSION",
    "SCHEMA_VERSION",
    "NewerSchemaError",
    "current_version",
    "get_meta",
    "migrate",
    "set_meta",
]

# Each entry upgrades from version i to i + 1. Never edit a released entry: add one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        plugin_id TEXT NOT NULL,
        name TEXT NOT NULL,
        handler TEXT NOT NULL,
        trigger TEXT NOT NULL,
        description TEXT,
        args TEXT,
        retry TEXT,
        timeout REAL,
        tags TEXT,
        status TEXT NOT NULL,
        overlap TEXT NOT NULL,
        misfire TEXT NOT NULL,
        misfire_grace REAL NOT NULL,
        jitter REAL NOT NULL,
        executor TEXT NOT NULL,
        created_ts REAL NOT NULL,
        updated_ts REAL NOT NULL,
        next_run_ts REAL,
        last_run_ts REAL,
        skipped_count INTEGER NOT NULL DEFAULT 0,
        missed_count INTEGER NOT NULL DEFAULT 0,
        run_count INTEGER NOT NULL DEFAULT 0,
        metadata TEXT,
        claimed_due REAL,
        claimed_by TEXT,
        UNIQUE (plugin_id, name)
    );
    CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        plugin_id TEXT NOT NULL,
        task_name TEXT NOT NULL,
        trigger_kind TEXT NOT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        created_ts REAL NOT NULL,
        scheduled_ts REAL NOT NULL,
        started_ts REAL,
        finished_ts REAL,
        progress REAL,
        progress_message TEXT,
        output TEXT,
        error TEXT,
        traceback TEXT,
        metrics TEXT,
        logs TEXT,
        missed INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        event TEXT,
        owner TEXT
    );
    CREATE INDEX executions_by_task ON executions (task_id, created_ts);
    CREATE INDEX executions_unfinished ON executions (owner)
        WHERE status IN ('pending', 'running');
    CREATE TABLE processes (
        owner TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_ts REAL NOT NULL
    );
    """,
    # 2: (a) the per-task index holds the task only (its rows follow in rowid order). A task
    # keeps at most max_executions_per_task rows, so sorting one task's rows by time is cheap,
    # while a (task_id, created_ts) entry cost every insert ~3 µs of B-tree work.
    # (b) what firing changes (status, next/last run, counters, the claim) moves to a narrow
    # table of its own: a firing rewrote the whole wide task row (trigger, args, retry, ...).
    """
    DROP INDEX IF EXISTS executions_by_task;
    CREATE INDEX executions_by_task_id ON executions (task_id);
    CREATE TABLE task_state (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        next_run_ts REAL,
        last_run_ts REAL,
        skipped_count INTEGER NOT NULL DEFAULT 0,
        missed_count INTEGER NOT NULL DEFAULT 0,
        run_count INTEGER NOT NULL DEFAULT 0,
        claimed_due REAL,
        claimed_by TEXT
    );
    INSERT INTO task_state
        SELECT id, status, next_run_ts, last_run_ts, skipped_count, missed_count, run_count,
            claimed_due, claimed_by
        FROM tasks;
    CREATE TABLE tasks_v2 (
        id TEXT PRIMARY KEY,
        plugin_id TEXT NOT NULL,
        name TEXT NOT NULL,
        handler TEXT NOT NULL,
        trigger TEXT NOT NULL,
        description TEXT,
        args TEXT,
        retry TEXT,
        timeout REAL,
        tags TEXT,
        overlap TEXT NOT NULL,
        misfire TEXT NOT NULL,
        misfire_grace REAL NOT NULL,
        jitter REAL NOT NULL,
        executor TEXT NOT NULL,
        created_ts REAL NOT NULL,
        updated_ts REAL NOT NULL,
        metadata TEXT,
        UNIQUE (plugin_id, name)
    );
    INSERT INTO tasks_v2
        SELECT id, plugin_id, name, handler, trigger, description, args, retry, timeout, tags,
            overlap, misfire, misfire_grace, jitter, executor, created_ts, updated_ts, metadata
        FROM tasks;
    DROP TABLE tasks;
    ALTER TABLE tasks_v2 RENAME TO tasks;
    """,
    # 3: a task's state carries a version, bumped by every deliberate change (create, update,
    # pause, resume); firing writes and claims only apply to the version they were made from,
    # so a process that has not seen a pause yet cannot undo it.
    """
    ALTER TABLE task_state ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: which processes are alive on a store (``cognia-nb status``): each process's writer
    # thread beats every HEARTBEAT_SECONDS (``_procs.py``); ``info`` says what the process is
    # (JSON: kind service/kernel/process, the notebook, restarts of a service).
    """
    ALTER TABLE processes ADD COLUMN heartbeat_ts REAL;
    ALTER TABLE processes ADD COLUMN info TEXT
    """,
    # 5: the analyst policies (``_engine/policies.py``, ``_model/calendar.py``). The task's
    # definition gets its pause limit and its calendar (JSON, ``Calendar.to_dict``); its state
    # gets what firing and pausing change: calendar skips and the last reason, failures in a
    # row, why it paused.
    """
    ALTER TABLE tasks ADD COLUMN max_consecutive_failures INTEGER;
    ALTER TABLE tasks ADD COLUMN calendar TEXT;
    ALTER TABLE task_state ADD COLUMN excluded_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE task_state ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE task_state ADD COLUMN pause_reason TEXT;
    ALTER TABLE task_state ADD COLUMN last_excluded TEXT
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
#: The oldest schema a read-only open reads as it is (older ones must be migrated first).
READABLE_VERSION = 4


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version of an open database (0 for an empty one).

    Raises:
        LookupError: the database holds tables but is not a cognia_nb store.
    """
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return 0
    if "meta" not in tables:
        raise LookupError(f"tables {sorted(tables)[:5]} but no cognia_nb 'meta' table")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


class NewerSchemaError(Exception):
    """The file was written by a newer cognia_nb (``args[0]`` is its schema version)."""


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date in one ``BEGIN IMMEDIATE`` transaction; returns the version
    found. The version is read inside the transaction, so of several processes opening a new
    file at once one creates the schema and the others then find it finished.

    Raises:
        LookupError: the database holds tables but is not a cognia_nb store.
        NewerSchemaError: the schema is newer than this version knows.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = current_version(conn)
        apply_migrations(version, MIGRATIONS, conn.execute,
                         lambda target: set_meta(conn, "schema_version", str(target)),
                         NewerSchemaError)  # fmt: skip
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    """A value of the ``meta`` table (None if unset)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Set a value of the ``meta`` table (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
