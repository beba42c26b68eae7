"""The SQLite store: the default, restart-safe, shareable between processes.

* WAL journal, ``synchronous=NORMAL``, ``busy_timeout``; the file is created with mode 0600.
* Every write goes through one writer thread in group commits (see ``_writer.py``); reads run
  on the caller's thread after a flush, so they see everything written before them.
* Two processes on one file never fire the same due time twice: each firing is claimed with an
  atomic conditional ``UPDATE`` (``claim_batch``).
* On open, executions left ``pending``/``running`` by a process that no longer exists become
  ``interrupted``; retention prunes old executions in the writer thread.
* A corrupt file, a newer schema or an unwritable place is a :class:`~cognia_nb.StoreError`
  naming the path; the file is never overwritten.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._errors import StoreError
from .._model.task import Execution, ExecutionStatus, Task
from ._base import Store
from ._cells import text
from ._codec import (
    EXECUTION_COLUMNS,
    TASK_SELECT,
    execution_from_row,
    task_from_row,
    task_select,
)
from ._health import StoreHealth
from ._inspect import connect_read_only, inspect_version, to_wal
from ._procs import (
    NETWORK_FS_WARNED,
    network_fs_type,
    owner_token,
    process_alive,
    process_info,
)
from ._retention import DEFAULT_MAX_AGE_DAYS, DEFAULT_MAX_EXECUTIONS, FROM_FILE, prune, settle
from ._schema import READABLE_VERSION, SCHEMA_VERSION, NewerSchemaError, migrate
from ._sqlite_history import read_history
from ._writer import Writer

__all__ = ["SQLiteStore"]

log = logging.getLogger("cognia_nb.stores.sqlite")

BUSY_TIMEOUT_MS = 10_000
WRITER_CACHE_KIB = 32_768  # an upper bound: the cache only grows as pages are used


class SQLiteStore(Store):
    """Tasks and executions in one SQLite file.

    Args:
        path: the database file (created, with its parent directories, if missing).
        max_executions_per_task: history kept per task (older executions are pruned). Not
            given: what the file says (1000 for a new file). Given: stored in the file.
        max_age_days: executions older than this are pruned (None: keep). Not given: what
            the file says (30 for a new file). Given: stored in the file.
        commit_window: longest time a write waits for its group commit (seconds).
        read_only: inspect and read only: nothing is ever written, pruned or created (a
            missing, empty or foreign file is refused untouched); saves raise
            :class:`~cognia_nb.StoreError`. What ``cognia-nb tasks``/``history`` use.
    """

    claims_async = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_executions_per_task: int = FROM_FILE,
        max_age_days: float | None = FROM_FILE,
        commit_window: float = 0.05,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self._asked = (max_executions_per_task, max_age_days)
        self.max_executions_per_task: int = (
            DEFAULT_MAX_EXECUTIONS if max_executions_per_task is FROM_FILE
            else max_executions_per_task
        )  # fmt: skip
        self.max_age_days: float | None = (
            DEFAULT_MAX_AGE_DAYS if max_age_days is FROM_FILE else max_age_days
        )
        self.commit_window = commit_window
        self.read_only = read_only
        self.owner = owner_token()
        self._conn: sqlite3.Connection | None = None
        self._writer: Writer | None = None
        self._last_prune = 0.0
        self._closed_health = StoreHealth()
        self._select = TASK_SELECT  # how tasks are read (read-only: for the file's schema)

    # -- opening --------------------------------------------------------------------------

    def _fail(self, what: str, exc: BaseException | None = None) -> StoreError:
        detail = f" ({exc})" if exc else ""
        return StoreError(
            f"cognia_nb store {self.location!r}: {what}{detail}. Move the file aside, or point "
            "COGNIA_NB_STORE (or Scheduler(store=...)) at another path, or use 'memory'"
        )

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            conn = connect_read_only(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            return conn
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
            check_same_thread=False,
        )  # fmt: skip
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _connect_writer(self) -> sqlite3.Connection:
        conn = self._connect()
        # Every insert lands on a task's page of the per-task index: with the default 2 MB
        # page cache, a busy store re-reads those pages from the OS all the time.
        conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        if self.strict:
            conn.execute("PRAGMA synchronous = FULL")
        return conn

    def _create_file(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise self._fail("cannot create the database file here", exc) from exc
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise self._fail("cannot create the database file here", exc) from exc

    def _inspect(self) -> int:
        """The file's schema version, read without changing it; refuses what is not ours."""
        try:
            version = inspect_version(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.DatabaseError as exc:
            raise self._fail("is not a readable SQLite database (corrupt?)", exc) from exc
        except LookupError as exc:
            raise self._fail("is a SQLite database of something else", exc) from exc
        if version > SCHEMA_VERSION:
            raise self._newer(version)
        return version

    def _newer(self, version: int) -> StoreError:
        return self._fail(
            f"was written by a newer cognia_nb (schema {version}; this version reads up to "
            f"{SCHEMA_VERSION}); upgrade cognia_nb to use it"
        )

    def open(self) -> None:
        """Open the file: inspected read-only first, then (unless ``read_only``) switched to
        WAL, migrated inside ``BEGIN IMMEDIATE`` and written.

        Raises:
            StoreError: naming the path and what to do; a refused file is left untouched.
        """
        if self._conn is not None:
            return
        if self.read_only:
            self._open_read_only()
            return
        self._create_file()
        if not os.access(self.path, os.W_OK) or not os.access(self.path.parent, os.W_OK):
            raise self._fail("the file or its directory is not writable")
        self._inspect()
        conn = self._connect()
        try:
            mode = to_wal(conn, BUSY_TIMEOUT_MS / 1000)
            migrate(conn)
            self._register(conn)
        except NewerSchemaError as exc:  # written meanwhile by another process
            conn.close()
            raise self._newer(exc.args[0]) from exc
        except (sqlite3.DatabaseError, LookupError) as exc:
            conn.close()
            raise self._fail("cannot be initialised", exc) from exc
        if str(mode).lower() != "wal":
            log.warning("%s: journal mode is %r, not WAL", self.location, mode)
        self._conn = conn
        self._warn_network_fs()
        self._writer = Writer(self._connect_writer, self.owner, window=self.commit_window,
                              on_commit=self._prune, location=self.location)  # fmt: skip
        self._writer.start()
        # The two saves of every firing go straight to the writer (a few per execution).
        self.save_execution = self._writer.save_execution  # type: ignore[method-assign]
        self.save_task_state = self._writer.save_state  # type: ignore[method-assign]

    def _open_read_only(self) -> None:
        if not self.path.is_file():
            raise self._fail("does not exist (a read-only open never creates it)")
        version = self._inspect()
        if version == 0:
            raise self._fail("is empty, not a cognia_nb store (a read-only open never "
                             "writes a schema)")  # fmt: skip
        if version < READABLE_VERSION:
            raise self._fail(f"has the older schema {version}; open it once for writing "
                             "(a scheduler) to migrate it")  # fmt: skip
        self._select = task_select(policies=version >= 5)  # a schema 4 file is read as it is
        try:
            conn = self._connect()
            settings = dict(conn.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            raise self._fail("is not a readable SQLite database (corrupt?)", exc) from exc
        keep, age = settings.get("retention.max_executions_per_task"), settings.get(
            "retention.max_age_days")  # fmt: skip
        if keep is not None:
            self.max_executions_per_task = int(keep)
        if age is not None:
            self.max_age_days = None if age == "none" else float(age)
        self._conn = conn

    def _register(self, conn: sqlite3.Connection) -> None:
        """Record this process; executions of processes that are gone become interrupted."""
        now = self.now()
        host = socket.gethostname()
        conn.execute("BEGIN IMMEDIATE")
        try:
            live = set()
            for owner, owner_host, pid in conn.execute("SELECT owner, host, pid FROM processes"):
                if owner_host != host or process_alive(pid, owner):
                    live.add(owner)
                else:
                    conn.execute("DELETE FROM processes WHERE owner = ?", (owner,))
            unfinished = conn.execute(
                "SELECT id, owner FROM executions WHERE status IN ('pending', 'running')"
            ).fetchall()
            for execution_id, owner in unfinished:
                if owner not in live:
                    conn.execute(
                        "UPDATE executions SET status = 'interrupted', finished_ts = ?, "
                        "reason = ? WHERE id = ?",
                        (now, f"the process that ran it ({owner}) ended before it finished",
                         execution_id),
                    )  # fmt: skip
            conn.execute(
                "INSERT INTO processes (owner, host, pid, started_ts, heartbeat_ts, info) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (self.owner, host, os.getpid(), now, time.time(), process_info()),
            )
            self.max_executions_per_task, self.max_age_days = settle(conn, *self._asked)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _warn_network_fs(self) -> None:
        fstype = network_fs_type(self.path)
        if fstype and self.location not in NETWORK_FS_WARNED:
            NETWORK_FS_WARNED.add(self.location)
            warnings.warn(
                f"cognia_nb store {self.location!r} is on a network file system ({fstype}): "
                "SQLite locking is unreliable there and two processes may corrupt it. Put the "
                "store on a local disk (COGNIA_NB_STORE=/local/path/cognia_nb.db).",
                RuntimeWarning,
                stacklevel=3,
            )

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.open()
        assert self._conn is not None
        return self._conn

    # -- writes (non-blocking) ------------------------------------------------------------

    def _w(self) -> Writer:
        if self.read_only:
            raise self._fail("was opened read-only; nothing is written to it")
        if self._writer is None:
            self.open()
        assert self._writer is not None
        return self._writer

    def save_task(self, task: Task) -> None:
        self._w().save_task(task)

    def save_task_state(self, task: Task) -> None:
        self._w().save_state(task)

    def delete_task(self, task_id: str) -> None:
        self._w().delete_task(task_id)

    def save_execution(self, execution: Execution) -> None:
        self._w().save_execution(execution)

    def watch(self, watcher: Callable[[list[Task], set[str]], None] | None) -> None:
        if self._writer is not None:  # (never reopens a closed store)
            self._writer.watch(watcher)

    def task_unwritten(self, task_id: str) -> bool:
        return self._writer is not None and self._writer.task_unwritten(task_id)

    def stored_trigger(self, task_id: str) -> Any:
        """The stored trigger of ``task_id`` (one primary-key read, no flush), or None."""
        try:
            row = self._db().execute("SELECT trigger FROM tasks WHERE id = ?",
                                     (task_id,)).fetchone()  # fmt: skip
        except sqlite3.Error:
            return None
        return None if row is None else json.loads(text(row[0]))

    def when_committed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the writer thread) once what was saved so far is committed;
        a failing disk delays it until the commit goes through."""
        self._w().when_committed(callback)

    def claim_batch(
        self, items: list[tuple[Task, float]], done: Callable[[list[bool]], None]
    ) -> None:
        self._w().claim(items, done)

    @property
    def health(self) -> StoreHealth:
        """Whether writes reach the file (a failing disk shows here at once)."""
        if self._writer is None:
            return self._closed_health
        return self._writer.health

    def flush(self) -> None:
        """Wait until what was saved so far is committed, or its commit failed (never raises:
        a failing write is retried and shown in :attr:`health`)."""
        if self._writer is not None:
            self._writer.flush()

    def _read_ready(self) -> None:
        """Flush before a read; a writer that died of a bug makes reads fail loudly."""
        self.flush()
        if self._writer is not None and self._writer.error is not None:
            raise self._fail("the writer thread failed", self._writer.error)

    def close(self) -> None:
        """Commit what is pending and release the file (never raises; see :attr:`health`)."""
        if self._writer is not None:
            self._writer.stop()
            self._closed_health = health = self._writer.health
            if not health.ok or health.lost:
                log.error("%s closed with writes not stored: %s", self.location, health)
            self._writer = None
            for bound in ("save_execution", "save_task_state"):
                self.__dict__.pop(bound, None)
        if self._conn is not None and not self.read_only:
            try:
                # A clean close releases this process's claims (claimed_due stays: a firing
                # already claimed is never claimed again) and unregisters the process.
                self._conn.execute(
                    "UPDATE task_state SET claimed_by = NULL "
                    "WHERE substr(claimed_by, 1, length(?1) + 1) = ?1 || '/'",
                    (self.owner,),
                )
                self._conn.execute("DELETE FROM processes WHERE owner = ?", (self.owner,))
            except sqlite3.Error:
                log.warning("could not unregister from %s", self.location)
            self._conn.close()
            self._conn = None

    # -- reads ----------------------------------------------------------------------------

    def load_tasks(self) -> list[Task]:
        self._read_ready()
        tasks = []
        for row in self._db().execute(self._select):
            try:
                tasks.append(task_from_row(row))
            except (ValueError, KeyError) as exc:
                log.error("%s: task %r cannot be read and is skipped: %s", self.location,
                          row[0], exc)  # fmt: skip
        return tasks

    def get_execution(self, execution_id: str) -> Execution | None:
        self._read_ready()
        if self._writer is not None and not self._writer.health.ok:
            waiting = self._writer.unwritten(execution_id)
            if waiting is not None:
                return waiting
        row = (
            self._db()
            .execute(
                f"SELECT {', '.join(EXECUTION_COLUMNS)} FROM executions WHERE id = ?",
                (execution_id,),
            )
            .fetchone()
        )
        return None if row is None else execution_from_row(row)

    def _where(
        self,
        task_id: str | None,
        statuses: Sequence[ExecutionStatus] | None,
        since_ts: float | None,
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if task_id is not None:
            clauses.append("task_id = ?")
            params.append(task_id)
        if statuses:
            clauses.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params.extend(str(s) for s in statuses)
        if since_ts is not None:
            clauses.append("created_ts >= ?")
            params.append(since_ts)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def list_executions(
        self,
        task_id: str | None = None,
        *,
        limit: int | None = None,
        statuses: Sequence[ExecutionStatus] | None = None,
        since_ts: float | None = None,
    ) -> list[Execution]:
        self._read_ready()
        where, params = self._where(task_id, statuses, since_ts)
        sql = (f"SELECT {', '.join(EXECUTION_COLUMNS)} FROM executions{where} "
               f"ORDER BY created_ts DESC, rowid DESC LIMIT ?")  # fmt: skip
        rows = self._db().execute(sql, [*params, -1 if limit is None else limit]).fetchall()
        return [execution_from_row(r) for r in rows]

    def history_columns(
        self,
        task_id: str | None = None,
        *,
        limit: int | None = None,
        statuses: Sequence[ExecutionStatus] | None = None,
        since_ts: float | None = None,
    ) -> dict[str, Any]:
        """Executions encoded as a few strings built inside SQLite (see ``_history.py``)."""
        self._read_ready()
        where, params = self._where(task_id, statuses, since_ts)
        if limit is not None:
            newest = (f"SELECT rowid FROM executions{where} "
                      "ORDER BY created_ts DESC, rowid DESC LIMIT ?")  # fmt: skip
            where, params = f" WHERE rowid IN ({newest})", [*params, limit]
        return read_history(self._connect, where, params)

    # -- retention (writer thread) --------------------------------------------------------

    def _prune(self, conn: sqlite3.Connection) -> None:
        now = time.monotonic()
        if now - self._last_prune < 60:
            return
        self._last_prune = now
        prune(conn, self.now(), self.max_executions_per_task, self.max_age_days)
