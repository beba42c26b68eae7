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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._errors import StoreError
from ._cells import text
from ._codec import task_select
from ._inspect import connect_read_only, inspect_version, to_wal
from ._procs import NETWORK_FS_WARNED, network_fs_type, process_alive, process_info
from ._retention import FROM_FILE, settle
from ._schema import READABLE_VERSION, SCHEMA_VERSION, NewerSchemaError, migrate
from ._sqlite_history import read_history
from ._writer import Writer
from ._writer_backed import WriterBackedStore

__all__ = ["SQLiteStore"]

log = logging.getLogger("cognia_nb.stores.sqlite")

BUSY_TIMEOUT_MS = 10_000
WRITER_CACHE_KIB = 32_768  # an upper bound: the cache only grows as pages are used


class SQLiteStore(WriterBackedStore):
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

    _log = log
    _mark = "?"
    _seq = "rowid"
    _no_limit = -1

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_executions_per_task: int = FROM_FILE,
        max_age_days: float | None = FROM_FILE,
        commit_window: float = 0.05,
        read_only: bool = False,
    ) -> None:
        super().__init__(max_executions_per_task=max_executions_per_task,
                         max_age_days=max_age_days, commit_window=commit_window,
                         read_only=read_only)  # fmt: skip
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self._conn: sqlite3.Connection | None = None
        # (self._select: read-only, the statement for the file's schema)

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
        self._start_writer(Writer(self._connect_writer, self.owner, window=self.commit_window,
                                  on_commit=self._prune, location=self.location))  # fmt: skip

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

    def close(self) -> None:
        """Commit what is pending and release the file (never raises; see :attr:`health`)."""
        self._stop_writer()
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

    def stored_trigger(self, task_id: str) -> Any:
        """The stored trigger of ``task_id`` (one primary-key read, no flush), or None."""
        try:
            row = self._db().execute("SELECT trigger FROM tasks WHERE id = ?",
                                     (task_id,)).fetchone()  # fmt: skip
        except sqlite3.Error:
            return None
        return None if row is None else json.loads(text(row[0]))

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db().execute(sql, params).fetchall()

    def _history(self, where: str, params: list[Any]) -> dict[str, Any]:
        return read_history(self._connect, where, params)
