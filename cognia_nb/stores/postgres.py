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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._errors import MissingDependencyError, StoreError, TaskValidationError
from .._model.task import ExecutionStatus
from ._pg_dsn import mask
from ._procs import process_info
from ._retention import FROM_FILE
from ._writer_backed import WriterBackedStore

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from ._pg_lease import Lease
    from ._pg_writer import PgConnection

__all__ = ["PostgresStore"]

log = logging.getLogger("cognia_nb.stores.postgres")


def _require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        raise MissingDependencyError("psycopg[binary,pool]", "postgres") from None


class PostgresStore(WriterBackedStore):
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

    _log = log
    _mark = "%s"
    _seq = "seq"
    _no_limit = None  # LIMIT NULL: all rows

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
        super().__init__(max_executions_per_task=max_executions_per_task,
                         max_age_days=max_age_days, commit_window=commit_window,
                         read_only=read_only)  # fmt: skip
        self._dsn = dsn
        self.schema = schema
        self.location = f"{mask(dsn)} (schema {schema})"
        self.lease_seconds = float(lease_seconds)
        self.pool_size = pool_size
        self.channel = f"cognia_nb:{schema}"[:63]
        self._pool: ConnectionPool[Any] | None = None
        self._lease: Lease | None = None

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
        self._start_writer(PgWriter(self._connect_writer, self.owner, channel=self.channel,
                                    lease_seconds=self.lease_seconds,
                                    window=self.commit_window, on_commit=self._prune,
                                    location=self.location))  # fmt: skip
        self._lease = Lease(self._connect, self.owner, self.lease_seconds, self._insert_process,
                            self.location)  # fmt: skip
        self._lease.start()

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
                self._retention_conn(conn),
                *self._asked,
            )

    def _insert_process(self, conn: PgConnection) -> None:
        conn.execute(
            "INSERT INTO processes (owner, host, pid, started_ts, heartbeat_ts, info, "
            "heartbeat, lease_seconds) VALUES (%s, %s, %s, extract(epoch FROM now()), "
            "extract(epoch FROM now()), %s, now(), %s)",
            (self.owner, socket.gethostname(), os.getpid(), process_info(), self.lease_seconds),
        )

    def close(self) -> None:
        """Commit what is pending, release this process's claims and unregister it."""
        if self._lease is not None:
            self._lease.stop()
            self._lease = None
        if self._stop_writer():
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

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._read() as conn:
            rows: list[tuple[Any, ...]] = conn.execute(sql, params or None).fetchall()
        return rows

    def _status_in(self, statuses: Sequence[ExecutionStatus], params: list[Any]) -> str:
        params.append([str(s) for s in statuses])
        return "status = ANY(%s)"

    def _history(self, where: str, params: list[Any]) -> dict[str, Any]:
        """Executions encoded as a few strings built inside PostgreSQL (``_pg_history.py``)."""
        from ._pg_history import read_pg_history

        with self._read() as conn:
            return read_pg_history(conn, where, params)

    def execution_owners(self, ids: Sequence[str]) -> dict[str, str]:
        """Execution id -> the owner token of the process that ran it (for the board)."""
        with self._read() as conn:
            rows = conn.execute("SELECT id, owner FROM executions WHERE id = ANY(%s)",
                                (list(ids),)).fetchall()  # fmt: skip
        return {str(i): str(o) for i, o in rows if o}

    def _retention_conn(self, conn: PgConnection) -> Any:
        return _QMark(conn)


class _QMark:
    """The SQLite retention statements (``_retention.py``) on a psycopg connection: ``?``
    marks become ``%s`` and SQLite's ``LIMIT -1`` is ``LIMIT ALL``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s").replace("LIMIT -1", "LIMIT ALL"),
                                 params)  # fmt: skip
