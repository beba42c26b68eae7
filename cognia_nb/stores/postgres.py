"""The PostgreSQL store: one schedule shared by many kernels and hosts, with leases.

* Same interface and semantics as :class:`~cognia_nb.stores.SQLiteStore`: every write goes
  through one writer thread in group commits (``_pg_writer.py``), reads run on the caller's
  thread after a flush (from a small ``psycopg_pool`` pool), each firing is claimed once across
  every process by one atomic statement per batch.
* Leases: each process beats in the ``processes`` table every ``lease_seconds / 3``; a process
  whose beat is older than its lease (by the database clock, ``now()``) is dead: any live
  process removes it, its unfinished executions become ``interrupted`` and its unused claims
  return to the pool.
* Changes reach the other processes by ``LISTEN``/``NOTIFY`` (``_pg_watch.py``).
* Tables live in the schema named by ``schema`` (created if missing), versioned and migrated
  (``_pg_schema.py``). Credentials come from the DSN or libpq's environment/``.pgpass`` only;
  the DSN's password is masked in every message and repr.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._errors import MissingDependencyError, StoreError, TaskValidationError
from .._model.task import Execution, ExecutionStatus, Task
from ._base import Store
from ._health import StoreHealth
from ._pg_dsn import mask
from ._procs import owner_token, process_info
from ._retention import DEFAULT_MAX_AGE_DAYS, DEFAULT_MAX_EXECUTIONS, FROM_FILE

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from ._pg_lease import Lease
    from ._pg_writer import PgConnection, PgWriter

__all__ = ["PostgresStore"]

log = logging.getLogger("cognia_nb.stores.postgres")


def _require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        raise MissingDependencyError("psycopg[binary,pool]", "postgres") from None


class PostgresStore(Store):
    """Tasks and executions in a PostgreSQL database, shared by every process that opens it.

    Args:
        dsn: a libpq connection string (``postgresql://user@host/db`` or
            ``host=... dbname=...``); a password may be in it or in ``PGPASSWORD``/``.pgpass``.
        schema: the PostgreSQL schema holding the tables (created if missing); not given:
            ``$COGNIA_NB_PG_SCHEMA``, else ``cognia_nb``.
        lease_seconds: how long this process's claims and running executions outlive its
            last heartbeat (beats come every third of it); then others take over.
        max_executions_per_task: history kept per task (not given: the database's setting,
            1000 for a new one; given: stored).
        max_age_days: executions older than this are pruned (not given: the stored setting,
            30 for a new database).
        commit_window: longest time a write waits for its group commit (seconds).
        pool_size: the most connections reads use at once.
        read_only: inspect and read only (``cognia-nb tasks``/``history``): nothing is
            created, migrated, registered or written; saves raise
            :class:`~cognia_nb.StoreError`.

    Raises:
        MissingDependencyError: psycopg is not installed (``pip install 'cognia_nb[postgres]'``).
        TaskValidationError: ``schema`` empty or ``lease_seconds`` not positive.
    """

    claims_async = True

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        lease_seconds: float = 30.0,
        max_executions_per_task: int = FROM_FILE,
        max_age_days: float | None = FROM_FILE,
        commit_window: float = 0.05,
        pool_size: int = 4,
        read_only: bool = False,
    ) -> None:
        _require_psycopg()
        if schema is None:
            schema = os.environ.get("COGNIA_NB_PG_SCHEMA") or "cognia_nb"
        if not isinstance(schema, str) or not schema or len(schema) > 63:
            raise TaskValidationError(
                f"schema must be a PostgreSQL schema name (1 to 63 characters), got {schema!r}",
                field="schema", value=schema,
            )  # fmt: skip
        if not isinstance(lease_seconds, int | float) or not lease_seconds > 0:
            raise TaskValidationError(
                f"lease_seconds must be a positive number of seconds, got {lease_seconds!r}",
                field="lease_seconds", value=lease_seconds,
            )  # fmt: skip
        self._dsn = dsn
        self.schema = schema
        self.location = f"{mask(dsn)} (schema {schema})"
        self.lease_seconds = float(lease_seconds)
        self._asked = (max_executions_per_task, max_age_days)
        self.max_executions_per_task: int = (
            DEFAULT_MAX_EXECUTIONS if max_executions_per_task is FROM_FILE
            else max_executions_per_task
        )  # fmt: skip
        self.max_age_days: float | None = (
            DEFAULT_MAX_AGE_DAYS if max_age_days is FROM_FILE else max_age_days
        )
        self.commit_window = commit_window
        self.pool_size = pool_size
        self.read_only = read_only
        self.owner = owner_token()
        self.channel = f"cognia_nb:{schema}"[:63]
        self._pool: ConnectionPool[Any] | None = None
        self._writer: PgWriter | None = None
        self._lease: Lease | None = None
        self._last_prune = 0.0
        self._closed_health = StoreHealth()

    def __repr__(self) -> str:
        return f"PostgresStore({mask(self._dsn)!r}, schema={self.schema!r})"

    # -- opening --------------------------------------------------------------------------

    def _fail(self, what: str, exc: BaseException | None = None) -> StoreError:
        detail = f" ({mask(str(exc))})" if exc else ""
        return StoreError(
            f"cognia_nb store {self.location}: {what}{detail}. Check the DSN (COGNIA_NB_STORE "
            "or Scheduler(store=...)) and that the server accepts this user"
        )

    def _setup(self, conn: PgConnection) -> None:
        from psycopg import sql

        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))

    def _connect(self) -> PgConnection:
        import psycopg

        conn = psycopg.connect(self._dsn, autocommit=True, application_name="cognia_nb")
        self._setup(conn)
        return conn

    def _connect_writer(self) -> PgConnection:
        from psycopg import sql

        conn = self._connect()
        if not self.strict:  # like SQLite's synchronous=NORMAL: a server crash may lose the
            conn.execute("SET synchronous_commit TO off")  # last commits, never corrupts
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        return conn

    def open(self) -> None:
        """Connect, create or migrate the schema, register this process, start the writer.

        Raises:
            StoreError: the server cannot be reached, or the schema is newer or foreign (the
                message shows the DSN with its password masked).
        """
        if self._writer is not None or self._pool is not None:
            return
        import psycopg

        from ._pg_lease import Lease
        from ._pg_schema import PG_SCHEMA_VERSION, PgNewerSchemaError, pg_migrate
        from ._pg_writer import PgWriter

        try:
            conn = self._connect()
        except psycopg.Error as exc:
            raise self._fail("cannot connect", exc) from None
        try:
            if self.read_only:
                self._inspect(conn)
            else:
                pg_migrate(conn, self.schema)
                self._setup(conn)
                self._register(conn)
        except PgNewerSchemaError as exc:
            raise self._fail(f"was written by a newer cognia_nb (schema {exc.args[0]}; this "
                             f"version reads up to {PG_SCHEMA_VERSION}); upgrade cognia_nb"
                             ) from None  # fmt: skip
        except (psycopg.Error, LookupError) as exc:
            raise self._fail("cannot be initialised", exc) from None
        finally:
            conn.close()
        self._pool = self._open_pool()
        if self.read_only:
            return
        self._writer = PgWriter(self._connect_writer, self.owner, channel=self.channel,
                                lease_seconds=self.lease_seconds, window=self.commit_window,
                                on_commit=self._prune, location=self.location)  # fmt: skip
        self._writer.start()
        self._lease = Lease(self._connect, self.owner, self.lease_seconds, self._insert_process,
                            self.location)  # fmt: skip
        self._lease.start()
        self.save_execution = self._writer.save_execution  # type: ignore[method-assign]
        self.save_task_state = self._writer.save_state  # type: ignore[method-assign]

    def _inspect(self, conn: PgConnection) -> None:
        """A read-only open: the schema must exist, at this version (nothing is written)."""
        from ._pg_schema import PG_SCHEMA_VERSION, PgNewerSchemaError, schema_version

        version = schema_version(conn, self.schema)
        if version > PG_SCHEMA_VERSION:
            raise PgNewerSchemaError(version)
        if version < PG_SCHEMA_VERSION:
            raise self._fail(f"has no cognia_nb schema {self.schema!r} at version "
                             f"{PG_SCHEMA_VERSION} (found {version}); open it once for writing "
                             "(a scheduler) to create or migrate it")  # fmt: skip

    def _open_pool(self) -> ConnectionPool[Any]:
        from psycopg_pool import ConnectionPool

        return ConnectionPool(self._dsn, min_size=1, max_size=self.pool_size, open=True,
                              kwargs={"autocommit": True, "application_name": "cognia_nb"},
                              configure=self._setup, name="cognia_nb-reads")  # fmt: skip

    def _register(self, conn: PgConnection) -> None:
        """Record this process; remove the dead ones (their executions become interrupted)."""
        from ._pg_sql import REAP, RELEASE
        from ._retention import settle

        with conn.transaction():
            dead = conn.execute(REAP, (self.owner,)).fetchall()
            if dead:
                conn.execute(RELEASE, ([str(o) for o, _ in dead],))
            self._insert_process(conn)
            self.max_executions_per_task, self.max_age_days = settle(
                _QMark(conn),  # type: ignore[arg-type]
                *self._asked,
            )

    def _insert_process(self, conn: PgConnection) -> None:
        conn.execute(
            "INSERT INTO processes (owner, host, pid, started_ts, heartbeat_ts, info, "
            "heartbeat, lease_seconds) VALUES (%s, %s, %s, extract(epoch FROM now()), "
            "extract(epoch FROM now()), %s, now(), %s)",
            (self.owner, socket.gethostname(), os.getpid(), process_info(), self.lease_seconds),
        )

    # -- writes (non-blocking) ------------------------------------------------------------

    def _w(self) -> PgWriter:
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
        if self._writer is not None:
            self._writer.watch(watcher)

    def task_unwritten(self, task_id: str) -> bool:
        return self._writer is not None and self._writer.task_unwritten(task_id)

    def when_committed(self, callback: Callable[[], None]) -> None:
        self._w().when_committed(callback)

    def claim_batch(
        self, items: list[tuple[Task, float]], done: Callable[[list[bool]], None]
    ) -> None:
        self._w().claim(items, done)

    @property
    def health(self) -> StoreHealth:
        """Whether writes reach the server (a failing one shows here at once)."""
        return self._closed_health if self._writer is None else self._writer.health

    def flush(self) -> None:
        """Wait until what was saved so far is committed, or its commit failed."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Commit what is pending, release this process's claims and unregister it."""
        if self._lease is not None:
            self._lease.stop()
            self._lease = None
        if self._writer is not None:
            self._writer.stop()
            self._closed_health = health = self._writer.health
            if not health.ok or health.lost:
                log.error("%s closed with writes not stored: %s", self.location, health)
            self._writer = None
            for bound in ("save_execution", "save_task_state"):
                self.__dict__.pop(bound, None)
            self._unregister()
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _unregister(self) -> None:
        import psycopg

        try:
            with self._read() as conn, conn.transaction():
                conn.execute(
                    "UPDATE task_state SET claimed_by = NULL "
                    "WHERE split_part(claimed_by, '/', 1) = %s",
                    (self.owner,),
                )
                conn.execute("DELETE FROM processes WHERE owner = %s", (self.owner,))
        except psycopg.Error:
            log.warning("could not unregister from %s", self.location)

    # -- reads ----------------------------------------------------------------------------

    def _read(self) -> Any:
        """A pooled connection (a context manager)."""
        if self._pool is None:
            self.open()
        assert self._pool is not None
        return self._pool.connection()

    def _read_ready(self) -> None:
        self.flush()
        if self._writer is not None and self._writer.error is not None:
            raise self._fail("the writer thread failed", self._writer.error)

    def load_tasks(self) -> list[Task]:
        from ._codec import TASK_SELECT, task_from_row

        self._read_ready()
        with self._read() as conn:
            rows = conn.execute(TASK_SELECT).fetchall()
        tasks = []
        for row in rows:
            try:
                tasks.append(task_from_row(tuple(row)))
            except (ValueError, KeyError) as exc:
                log.error("%s: task %r cannot be read and is skipped: %s", self.location,
                          row[0], exc)  # fmt: skip
        return tasks

    def stored_trigger(self, task_id: str) -> Any:
        """The stored trigger of ``task_id`` (one primary-key read, no flush), or None."""
        import json

        import psycopg

        try:
            with self._read() as conn:
                row = conn.execute("SELECT trigger FROM tasks WHERE id = %s",
                                   (task_id,)).fetchone()  # fmt: skip
        except psycopg.Error:
            return None
        return None if row is None else json.loads(row[0])

    def get_execution(self, execution_id: str) -> Execution | None:
        from ._codec import EXECUTION_COLUMNS, execution_from_row

        self._read_ready()
        if self._writer is not None and not self._writer.health.ok:
            waiting = self._writer.unwritten(execution_id)
            if waiting is not None:
                return waiting
        with self._read() as conn:
            row = conn.execute(f"SELECT {', '.join(EXECUTION_COLUMNS)} FROM executions "
                               "WHERE id = %s", (execution_id,)).fetchone()  # fmt: skip
        return None if row is None else execution_from_row(tuple(row))

    @staticmethod
    def _where(
        task_id: str | None, statuses: Sequence[ExecutionStatus] | None, since_ts: float | None
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if task_id is not None:
            clauses.append("task_id = %s")
            params.append(task_id)
        if statuses:
            clauses.append("status = ANY(%s)")
            params.append([str(s) for s in statuses])
        if since_ts is not None:
            clauses.append("created_ts >= %s")
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
        from ._codec import EXECUTION_COLUMNS, execution_from_row

        self._read_ready()
        where, params = self._where(task_id, statuses, since_ts)
        sql = (f"SELECT {', '.join(EXECUTION_COLUMNS)} FROM executions{where} "
               "ORDER BY created_ts DESC, seq DESC LIMIT %s")  # fmt: skip
        with self._read() as conn:
            rows = conn.execute(sql, [*params, limit]).fetchall()
        return [execution_from_row(tuple(r)) for r in rows]

    def history_columns(
        self,
        task_id: str | None = None,
        *,
        limit: int | None = None,
        statuses: Sequence[ExecutionStatus] | None = None,
        since_ts: float | None = None,
    ) -> dict[str, Any]:
        """Executions encoded as a few strings built inside PostgreSQL (``_pg_history.py``)."""
        from ._pg_history import read_pg_history

        self._read_ready()
        where, params = self._where(task_id, statuses, since_ts)
        if limit is not None:
            newest = (f"SELECT seq FROM executions{where} "
                      "ORDER BY created_ts DESC, seq DESC LIMIT %s")  # fmt: skip
            where, params = f" WHERE seq IN ({newest})", [*params, limit]
        with self._read() as conn:
            return read_pg_history(conn, where, params)

    def execution_owners(self, ids: Sequence[str]) -> dict[str, str]:
        """Execution id -> the owner token of the process that ran it (for the board)."""
        with self._read() as conn:
            rows = conn.execute("SELECT id, owner FROM executions WHERE id = ANY(%s)",
                                (list(ids),)).fetchall()  # fmt: skip
        return {str(i): str(o) for i, o in rows if o}

    # -- retention (writer thread) --------------------------------------------------------

    def _prune(self, conn: PgConnection) -> None:
        import time

        from ._retention import prune

        now = time.monotonic()
        if now - self._last_prune < 60:
            return
        self._last_prune = now
        prune(_QMark(conn), self.now(), self.max_executions_per_task,  # type: ignore[arg-type]
              self.max_age_days)  # fmt: skip


class _QMark:
    """The SQLite retention statements (``_retention.py``) on a psycopg connection: ``?``
    marks become ``%s`` and SQLite's ``LIMIT -1`` is ``LIMIT ALL``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s").replace("LIMIT -1", "LIMIT ALL"),
                                 params)  # fmt: skip
