"""The PostgreSQL writer thread: the SQLite writer's queues and group commits (``_writer.py``),
committing to PostgreSQL.

What changes: each commit first locks the ``task_state`` rows it touches in id order (so two
processes' commits cannot deadlock), claims are one ``UPDATE ... FROM`` per batch
(``_pg_sql.CLAIM``), every kind of row is one statement per commit (its rows sent as one JSON
parameter, ``_pg_sql.rows_json``), and a commit that changed tasks sends a ``NOTIFY``. (The
lease is renewed by a thread of its own: ``_pg_lease.py``.)
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import errors

from .._model.task import Task
from ._batch import Batch
from ._cells import cells
from ._codec import state_row, task_row
from ._pg_sql import (
    CLAIM,
    COUNT_CHANGE,
    DELETE_STATES,
    DELETE_TASKS,
    EXECUTION_BULK,
    EXECUTION_UPSERT,
    LOCK_STATES,
    PLAIN_EXECUTION_BULK,
    PLAIN_EXECUTION_UPSERT,
    STATE_BULK,
    STATE_UPDATE_BULK,
    STATE_UPSERT,
    TASK_BULK,
    TASK_UPSERT,
    VERSIONS,
    rows_json,
)
from ._pg_watch import PgChangeWatch
from ._states import ROWS_PER_LOOK, HeldStates, hold_until, let_others_run
from ._watch import LOOK_SECONDS
from ._writer import Writer

__all__ = ["PgConnection", "PgWriter", "pg_cells"]

log = logging.getLogger("cognia_nb.stores.postgres")

PgConnection = psycopg.Connection[tuple[Any, ...]]
#: About the values bound, not the server: the batch is written again, row by row, encoded.
_DATA_ERRORS = (psycopg.DataError, psycopg.ProgrammingError, psycopg.IntegrityError,
                UnicodeError, OverflowError, TypeError, ValueError)  # fmt: skip
#: Two commits crossed: the batch is simply committed again.
_TRANSIENT = (errors.DeadlockDetected, errors.SerializationFailure)
_ATTEMPTS = 5


def _pg_cell(value: Any) -> Any:
    """What PostgreSQL text can hold: no NUL, no lone surrogates (replaced by U+FFFD)."""
    if isinstance(value, bytes):  # cell() made bytes of a str with lone surrogates
        value = value.decode("utf-8", "replace")
    if isinstance(value, str) and "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    return value


def pg_cells(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """:func:`~cognia_nb.stores._cells.cells` of a row, made storable in PostgreSQL text
    (the careful path: lossy only for NUL characters and lone surrogates)."""
    return tuple(_pg_cell(v) for v in cells(row))


class PgHeldStates(HeldStates):
    """:class:`HeldStates` with PostgreSQL statements."""

    def claim(self, conn: Any, owner: str, items: list[tuple[Task, float]]) -> list[bool]:
        """Claim ``(task, due)`` firings in one statement, writing each won task's state."""
        token = self._token(owner)
        seqs: dict[str, int] = {}
        rows = []
        until = hold_until()
        for i, (task, due) in enumerate(items, 1):
            if not i % ROWS_PER_LOOK:
                until = let_others_run(until)
            seqs[task.id] = task._state_seq  # before reading the state: see HeldStates._results
            rows.append((*state_row(task), due, task._version))
        row = conn.execute(CLAIM, (token, rows_json(rows), len(rows))).fetchone()
        won = set(seqs) if row is None or row[0] is None else set(json.loads(row[0]))
        return self._results(items, won, seqs)

    def take_due(self, everything: bool) -> list[Task]:
        """Take out the states to write now: held for ``hold_seconds`` (all with
        ``everything``); :meth:`rollback` puts them back."""
        return self._due(everything)

    def write_due(self, conn: Any, due: list[Task]) -> None:
        """Write states taken by :meth:`take_due`."""
        if due:
            rows = [(*state_row(t), t._version) for t in due]
            conn.execute(STATE_UPDATE_BULK, (rows_json(rows),))

    def write(self, conn: Any, *, everything: bool = False) -> int:
        """Write the states held for ``hold_seconds`` (all of them with ``everything``)."""
        due = self.take_due(everything)
        self.write_due(conn, due)
        return len(due)


class PgWriter(Writer):
    """One thread, one PostgreSQL connection, group commits (see the module docstring)."""

    _storage_errors = (psycopg.Error, OSError)

    def __init__(
        self,
        connect: Callable[[], PgConnection],
        owner: str,
        *,
        channel: str,
        lease_seconds: float,
        window: float = 0.05,
        on_commit: Callable[[Any], None] | None = None,
        location: str = "",
    ) -> None:
        super().__init__(connect, owner, window=window, on_commit=on_commit,  # type: ignore[arg-type]
                         location=location)  # fmt: skip
        self.name = "cognia_nb-postgres-writer"
        self.channel = channel
        self.lease_seconds = lease_seconds
        self._next_beat = float("inf")  # the lease thread beats (``_pg_lease.py``)
        self._held = PgHeldStates()
        self._watch: PgChangeWatch = PgChangeWatch(owner)  # type: ignore[assignment]

    # -- committing -----------------------------------------------------------------------

    def _commit_or_encode(self, conn: Any, batch: Batch) -> None:
        """Commit a batch as the SQLite writer does; crossed commits are committed again."""
        for attempt in range(_ATTEMPTS):
            try:
                try:
                    self._commit(conn, batch, careful=False)
                except _DATA_ERRORS as exc:
                    if isinstance(exc, _TRANSIENT):
                        raise
                    log.warning("a batch could not be bound (%s); writing it again, encoded",
                                exc)  # fmt: skip
                    self._commit(conn, batch, careful=True)
                return
            except _TRANSIENT:
                if attempt == _ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))

    def _put(self, conn: Any, sql: str, rows: list[tuple[Any, ...]], careful: bool) -> None:
        """``executemany``; ``careful``: row by row (a savepoint each), encoded for
        PostgreSQL, unstorable rows dropped (logged and counted)."""
        if not careful:
            conn.cursor().executemany(sql, [cells(r) for r in rows])
            return
        for row in rows:
            try:
                with conn.transaction():
                    conn.execute(sql, pg_cells(row))
            except _DATA_ERRORS as exc:
                self._failures.dropped += 1
                log.error("a row for %r cannot be stored and is dropped: %s", row[0], exc)

    def _bulk(
        self, conn: Any, sql: str, rows: list[tuple[Any, ...]], careful: bool, row_sql: str
    ) -> None:
        """Many rows in one statement (``rows_json``); ``careful``: row by row, as :meth:`_put`
        does. (A value JSON cannot hold, a lone surrogate, NUL, NaN, an int past 64 bits,
        fails the statement: the batch is written again, carefully.)"""
        if careful:
            self._put(conn, row_sql, rows, careful=True)
            return
        conn.execute(sql, (rows_json(rows),))

    def _commit(self, conn: Any, batch: Batch, *, careful: bool) -> None:
        tasks, states, deleted = batch.tasks, batch.states, batch.deleted
        held = self._held
        assert isinstance(held, PgHeldStates)
        held.hold(list(states.values()))
        task_rows = [task_row(t) for t in tasks.values()]
        whole_states = [state_row(t) for t in tasks.values()]
        plain_rows, execution_rows = self._rows(batch)
        results: list[list[bool]] = []
        held.begin()
        try:
            # Only the rows this commit writes are locked (not every state held back).
            due = held.take_due(everything=bool(batch.flushes) or self._stopping)
            touched = {*tasks, *deleted, *(t.id for t in due)}
            for items, _ in batch.claims:
                touched.update(task.id for task, _ in items)
            with conn.transaction():
                if touched:
                    conn.execute(LOCK_STATES, (rows_json(sorted(touched)),))
                if task_rows:  # whole tasks, their state included (in id order)
                    self._bulk(conn, TASK_BULK, sorted(task_rows, key=_first), careful,
                               TASK_UPSERT)  # fmt: skip
                    self._bulk(conn, STATE_BULK, sorted(whole_states, key=_first), careful,
                               STATE_UPSERT)  # fmt: skip
                    for task_id, version in conn.execute(VERSIONS, (rows_json(list(tasks)),)):
                        tasks[task_id]._version = version
                    held.written(list(tasks))
                results = self._claim_all(conn, batch)
                held.write_due(conn, due)
                if deleted:
                    gone = rows_json(list(deleted))
                    conn.execute(DELETE_TASKS, (gone,))
                    conn.execute(DELETE_STATES, (gone,))
                    held.written(list(deleted))
                if plain_rows:
                    self._bulk(conn, PLAIN_EXECUTION_BULK, plain_rows, careful,
                               PLAIN_EXECUTION_UPSERT)  # fmt: skip
                if execution_rows:
                    self._bulk(conn, EXECUTION_BULK, [cells(r) for r in execution_rows],
                               careful, EXECUTION_UPSERT)  # fmt: skip
                if task_rows or deleted:  # others hear that tasks changed
                    conn.execute(COUNT_CHANGE, (self.channel, self.owner))
                if self._on_commit is not None and not batch.claims_only:  # (retention)
                    self._on_commit(conn)
        except BaseException:
            held.rollback()
            raise
        held.commit()
        if task_rows or deleted:
            self._watch.committed({i: t._version for i, t in tasks.items()}, deleted)
        self.commits += 1
        self._committed(batch, results)

    # -- leases and changes ---------------------------------------------------------------

    def _look(self, conn: Any) -> Any:
        """Look for other processes' changes (see ``_pg_watch.py``)."""
        try:
            if conn is None:
                conn = self._connect()
            self._watch.look(conn)
        except (psycopg.Error, OSError) as exc:
            self._watch.next_look = time.monotonic() + LOOK_SECONDS
            log.debug("could not look for changes: %s", exc)
            if conn is not None:
                conn.close()
            return None
        return conn


def _first(row: tuple[Any, ...]) -> Any:
    return row[0]
