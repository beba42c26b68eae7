"""The SQLite writer thread: every write of a process goes through it, in group commits.

The loop thread only marks objects dirty: executions and task states are appended to a deque
(thread-safe, no lock), rarer changes (whole tasks, deletes, claims, flushes) go under the lock.
The writer wakes on the first dirty object and commits whatever accumulated within ``window``
seconds (or as soon as ``max_rows`` are dirty, a claim waits or someone flushes) in one
transaction, so the event loop never waits on the disk and thousands of executions cost a
handful of commits. An execution saved three times before its commit is written once. Rows go
many to a statement (``_sqlite_bulk.py``). Claims are answered first: a batch's claims commit
on their own before its executions, and a commit takes at most :data:`MAX_BATCH_ROWS`
executions (a flush takes all), so a due firing never waits behind a long commit.

The writer never dies of data: rows are built through the total encoding of ``_cells.py``,
and a batch that SQLite still refuses to bind is written again row by row, fully encoded (a
row that cannot be stored even so is dropped, logged and counted in ``health``). A failure
that is not about data (disk full, I/O error) keeps the batch in memory and retries it with
backoff (see ``_health.py``); meanwhile flushes return at once and claims are answered lost,
so no scheduled firing starts and the backlog stays bounded by what was already running.

No append is ever stranded: the loop appends *before* it looks whether the writer is idle, and
the writer marks itself idle *before* it drains the deques.

Rows are built here, from the live objects. An object changed while its row is built is marked
dirty again by the change, so the last row written is the final state.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

from .._model.task import Execution, Task
from ._batch import LOOK, Batch, Claim, ClaimDone, Look
from ._cells import cells
from ._codec import (
    EXECUTION_COLUMNS,
    PLAIN_EXECUTION_COLUMNS,
    TASK_COLUMNS,
    TASK_STATE_UPSERT,
    TASK_VERSIONS,
    execution_row,
    plain_execution_row,
    state_row,
    task_row,
)
from ._health import STOP_PATIENCE, Failures, StoreHealth
from ._procs import HEARTBEAT_SECONDS
from ._sqlite_bulk import insert_many, values_marks
from ._states import ROWS_PER_LOOK, HeldStates, hold_until, let_others_run
from ._watch import COUNT_CHANGE, LOOK_SECONDS, ChangeWatch, Watcher, read_changes

__all__ = ["Writer"]

log = logging.getLogger("cognia_nb.stores.sqlite")

#: Errors that are about the values bound, not the disk: the batch is written again, encoded.
_DATA_ERRORS = (sqlite3.InterfaceError, sqlite3.ProgrammingError, sqlite3.IntegrityError,
                UnicodeError, OverflowError, TypeError, ValueError)  # fmt: skip


def _upsert_parts(table: str, columns: tuple[str, ...]) -> tuple[str, str]:
    """An upsert's text before and after its ``VALUES`` (see ``_sqlite_bulk.insert_many``)."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    return f"INSERT INTO {table} ({', '.join(columns)})", f"ON CONFLICT(id) DO UPDATE SET {updates}"


def _one_row(upsert: tuple[str, str], width: int) -> str:
    """An upsert of :func:`_upsert_parts` for one row of ``width`` values."""
    head, tail = upsert
    return f"{head} VALUES {values_marks(width, 1)} {tail}"


def _upsert_sql(table: str, columns: tuple[str, ...]) -> str:
    return _one_row(_upsert_parts(table, columns), len(columns))


_TASK_UPSERT = _upsert_sql("tasks", TASK_COLUMNS)
_EXECUTION_UPSERT = _upsert_parts("executions", EXECUTION_COLUMNS)
_PLAIN_EXECUTION_UPSERT = _upsert_parts("executions", PLAIN_EXECUTION_COLUMNS)


#: Executions one commit takes at most (unless it is a flush): see ``_next_batch``.
MAX_BATCH_ROWS = 8192
#: Firings claimed per commit, about (see ``Writer._claims_first``).
CLAIMS_PER_COMMIT = 4096


class Writer(threading.Thread):
    """One thread, one connection, group commits."""

    heartbeat = HEARTBEAT_SECONDS  # seconds between beats in the process table
    #: Failures of the storage, not of the data: the batch is kept and retried with backoff.
    _storage_errors: ClassVar[tuple[type[Exception], ...]] = (sqlite3.Error, OSError)

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        owner: str,
        *,
        window: float = 0.05,
        claim_window: float = 0.002,
        max_rows: int = 500,
        on_commit: Callable[[sqlite3.Connection], None] | None = None,
        location: str = "",
    ) -> None:
        super().__init__(name="cognia_nb-sqlite-writer", daemon=True)
        self._connect = connect
        self.owner = owner
        self.window = window
        # Claims wait this long for company: firings spread over a few milliseconds (tasks
        # created one after another) then share one transaction instead of one each.
        self.claim_window = claim_window
        self.max_rows = max_rows
        self._on_commit = on_commit
        self._cond = threading.Condition()
        self._tasks: dict[str, Task] = {}
        self._deleted: set[str] = set()
        self._execution_queue: deque[Execution] = deque()  # appended by the loop, no lock
        self._state_queue: deque[Task] = deque()
        self._claims: list[Claim] = []
        self._first_claim = 0.0  # when the oldest waiting claim came
        self._held = HeldStates()  # the writer thread's own
        self._flushes: list[threading.Event] = []
        self._acks: list[Callable[[], None]] = []
        self._first_dirty: float | None = None
        self._stopping = False
        self._stop_by = 0.0  # when stop() gives up on a failing write
        self._failed: Batch | None = None  # kept for the retry
        self._inflight: Batch | None = None  # being committed
        self._failures = Failures(location)
        self.error: BaseException | None = None
        self.commits = 0
        self._watch = ChangeWatch()
        self._next_beat = time.monotonic() + HEARTBEAT_SECONDS  # ``cognia-nb status``

    @property
    def health(self) -> StoreHealth:
        """Whether writes go through (see :class:`~cognia_nb.stores.StoreHealth`)."""
        failed = self._failed
        return self._failures.health(self._pending() + (len(failed) if failed else 0))

    def unwritten(self, execution_id: str) -> Execution | None:
        """An execution whose commit failed and is waiting for the retry (reads see it)."""
        for batch in (self._failed, self._inflight):
            found = batch.executions.get(execution_id) if batch is not None else None
            if found is not None:
                return found
        return None

    def task_unwritten(self, task_id: str) -> bool:
        """Whether a deliberate change of the task (a whole-task save) is not committed yet."""
        return task_id in self._tasks or any(
            b is not None and task_id in b.tasks for b in (self._failed, self._inflight)
        )

    def watch(self, watcher: Watcher | None) -> None:
        """Call ``watcher(changed, ids)`` (from this thread) whenever another process changed a
        task (create, update, pause, resume, delete), within about :data:`LOOK_SECONDS`:
        ``changed`` holds the tasks whose stored version moved, ``ids`` every stored task's
        id."""
        with self._cond:
            self._watch.watcher = watcher
            self._watch.next_look = time.monotonic()
            self._cond.notify()

    # -- called from the loop thread (never blocks on disk) -------------------------------

    def save_state(self, task: Task) -> None:
        """Mark a task's firing state for writing (see ``_states.py``)."""
        task._state_seq += 1
        self._state_queue.append(task)
        if self._first_dirty is None:
            self._wake()

    def save_task(self, task: Task) -> None:
        """Mark a whole task for writing."""
        with self._cond:
            self._deleted.discard(task.id)
            self._tasks[task.id] = task
            self._dirty()

    def delete_task(self, task_id: str) -> None:
        with self._cond:
            self._tasks.pop(task_id, None)
            self._deleted.add(task_id)
            self._dirty()

    def save_execution(self, execution: Execution) -> None:
        """Mark an execution for writing (its row is built at commit, from the object)."""
        queue = self._execution_queue
        queue.append(execution)
        if self._first_dirty is None or len(queue) == self.max_rows:
            self._wake()

    def _wake(self) -> None:
        with self._cond:
            self._dirty()

    def claim(self, items: list[tuple[Task, float]], done: ClaimDone) -> None:
        """Claim due firings; ``done(results)`` is called from the writer thread."""
        with self._cond:
            if not self._claims:
                self._first_claim = time.monotonic()
            self._claims.append((items, done))
            self._cond.notify()

    def when_committed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` from this thread once what was marked so far is committed (a
        commit is made at once, without waiting for the window)."""
        with self._cond:
            self._acks.append(callback)
            self._cond.notify()

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything marked so far is committed (or the commit failed)."""
        if not self.is_alive():
            return
        event = threading.Event()
        with self._cond:
            self._flushes.append(event)
            self._cond.notify()
        event.wait(timeout)

    def stop(self) -> None:
        """Commit what is pending and end the thread (a failing write is retried for
        :data:`~cognia_nb.stores._health.STOP_PATIENCE` seconds, then given up and counted)."""
        with self._cond:
            self._stopping = True
            self._stop_by = time.monotonic() + STOP_PATIENCE
            self._cond.notify()
        if self.is_alive():
            self.join(STOP_PATIENCE + 30)

    def _pending(self) -> int:
        return len(self._execution_queue) + len(self._state_queue) + len(self._tasks)

    def _dirty(self) -> None:
        if self._first_dirty is None:
            self._first_dirty = time.monotonic()
            self._cond.notify()
        elif self._pending() >= self.max_rows:
            self._cond.notify()

    # -- the thread -----------------------------------------------------------------------

    def run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    break
                if isinstance(batch, Look):
                    conn = self._look(conn)
                    continue
                for part in self._claims_first(batch):
                    conn = self._attempt(conn, part)
        except BaseException as exc:  # a bug: neither the data nor the disk
            self.error = exc
            log.exception("the SQLite writer stopped; later writes are lost")
            with self._cond:
                for event in self._flushes:
                    event.set()
                for items, done in self._claims:
                    done([False] * len(items))
        finally:
            if conn is not None:
                conn.close()

    def _claims_first(self, batch: Batch) -> list[Batch]:
        """A batch's claims (with the states they carry) go in commits of their own, of about
        :data:`CLAIMS_PER_COMMIT` firings each, before its executions: a due firing waits for
        its claim's answer, an execution row waits for nobody, and the loop fires the first
        winners while the next claims are made. (Not when whole tasks change: a claim carries
        the version their commit gives.)"""
        if not batch.claims or batch.tasks or batch.deleted or self._failed is not None:
            return [batch]
        groups: list[list[Claim]] = [[]]
        size = 0
        for claim in batch.claims:
            if size >= CLAIMS_PER_COMMIT:
                groups.append([])
                size = 0
            groups[-1].append(claim)
            size += len(claim[0])
        rest = bool(batch.executions or batch.flushes or batch.acks)
        if len(groups) == 1 and not rest:
            return [batch]
        parts = [Batch({}, {}, set(), {}, claims=group, flushes=[]) for group in groups]
        parts[0].states, batch.states, batch.claims = batch.states, {}, []
        return [*parts, batch] if rest else parts

    def _attempt(self, conn: sqlite3.Connection | None, batch: Batch) -> sqlite3.Connection | None:
        """Commit a batch (merged with a failed one); on a failure of the storage, keep it."""
        if self._failed is not None:
            batch = self._failed.merge(batch)
        self._inflight, self._failed = batch, None
        try:
            if conn is None:
                conn = self._connect()
            self._commit_or_encode(conn, batch)
        except self._storage_errors as exc:
            self._keep(batch, exc)
            if conn is not None:
                conn.close()  # a fresh connection for the retry
            return None
        self._failures.recovered()
        self._inflight = None
        return conn

    def _commit_or_encode(self, conn: sqlite3.Connection, batch: Batch) -> None:
        """Commit a batch; one the database refuses to bind is written again, encoded."""
        try:
            self._commit(conn, batch, careful=False)
        except _DATA_ERRORS as exc:
            log.warning("a batch could not be bound (%s); writing it again, encoded", exc)
            self._commit(conn, batch, careful=True)

    def _keep(self, batch: Batch, exc: BaseException) -> None:
        """A commit failed for a reason that is not about data: keep the batch, release the
        waiters (flushes return, claims are lost), retry later."""
        for items, done in batch.claims:
            done([False] * len(items))
        for event in batch.flushes:
            event.set()
        batch.claims, batch.flushes = [], []
        self._failures.failed(exc, len(batch))
        if self._stopping and time.monotonic() >= self._stop_by:
            lost = len(batch) + self._held.clear()
            self._failures.lost += lost
            self._inflight = None
            log.error("giving up on %d rows that could not be written to %s (%s)", lost,
                      self._failures.location, self._failures.error)  # fmt: skip
            return
        self._failed = batch

    def _ready(self) -> bool:
        if self._stopping or self._flushes or self._acks:
            return True
        if self._claims and time.monotonic() - self._first_claim >= self.claim_window:
            return True
        if self._failed is not None and time.monotonic() >= self._failures.retry_at:
            return True
        if self._first_dirty is None:
            if not (self._execution_queue or self._state_queue):
                held_due = self._held.next_due()
                return held_due is not None and time.monotonic() >= held_due
            self._first_dirty = time.monotonic()  # appended while the last batch was taken
        if self._failed is not None:
            return False  # waits for the retry (or a claim, a flush, stop)
        if self._pending() >= self.max_rows:
            return True
        return time.monotonic() - self._first_dirty >= self.window

    def _wait_seconds(self) -> float | None:
        """How long the writer may sleep before something becomes ready."""
        now = time.monotonic()
        until: list[float] = []
        if self._first_dirty is not None:
            until.append(self._first_dirty + self.window)
        if self._claims:
            until.append(self._first_claim + self.claim_window)
        if self._failed is not None:
            until.append(self._failures.retry_at)
        held_due = self._held.next_due()
        if held_due is not None:
            until.append(held_due)
        if self._watch.watcher is not None:
            until.append(self._watch.next_look)
        return max(0.0, min(until) - now) if until else None

    def _next_batch(self) -> Batch | Look | None:
        with self._cond:
            while not self._ready():
                if self._watch.due():
                    return LOOK
                self._cond.wait(self._wait_seconds())
            if self._stopping and self._failed is not None:
                # retry at the backoff pace, but no longer than stop() allows
                wait = min(self._failures.retry_at, self._stop_by) - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
            self._first_dirty = None  # before draining: see the module docstring
            # Saves came through the deques; the last save of an object is the one kept.
            executions: dict[str, Execution] = {}
            states: dict[str, Task] = {}
            queue = self._execution_queue
            # A flush (or stop) takes everything; else a batch takes at most MAX_BATCH_ROWS
            # executions (each saved two or three times), so a claim never waits behind a long
            # commit (the rest go next).
            most = len(queue) if self._stopping or self._flushes or self._acks else MAX_BATCH_ROWS
            while queue and len(executions) < most:
                execution = queue.popleft()
                executions[execution.id] = execution
            if queue:
                self._first_dirty = time.monotonic() - self.window  # the rest: at once
            tasks = self._tasks
            state_queue = self._state_queue
            while state_queue:
                task = state_queue.popleft()
                if task.id not in tasks:
                    states[task.id] = task
            if self._stopping and not (tasks or states or executions or self._deleted
                                       or self._claims or self._flushes or self._acks
                                       or len(self._held)
                                       or self._failed is not None):  # fmt: skip
                return None
            batch = Batch(tasks, states, self._deleted, executions, claims=self._claims,
                           flushes=self._flushes)  # fmt: skip
            batch.acks, self._acks = self._acks, []
            self._tasks, self._deleted = {}, set()
            self._claims, self._flushes = [], []
            return batch

    def _rows(self, batch: Batch) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The plain and the full execution rows of a batch."""
        plain_rows, execution_rows = [], []
        until = hold_until()
        for i, execution in enumerate(batch.executions.values(), 1):
            row = plain_execution_row(execution, self.owner)
            if row is not None:
                plain_rows.append(row)
            else:
                execution_rows.append(execution_row(execution, self.owner))
            if not i % ROWS_PER_LOOK:
                until = let_others_run(until)
        return plain_rows, execution_rows

    def _put(
        self, conn: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]], careful: bool
    ) -> None:
        """``executemany``; ``careful``: row by row, each fully encoded, unstorable rows
        dropped (logged and counted)."""
        if not careful:
            conn.executemany(sql, rows)
            return
        for row in rows:
            try:
                conn.execute(sql, cells(row))
            except _DATA_ERRORS as exc:
                self._failures.dropped += 1
                log.error("a row for %r cannot be stored and is dropped: %s", row[0], exc)

    def _put_many(
        self,
        conn: sqlite3.Connection,
        upsert: tuple[str, str],
        rows: list[tuple[Any, ...]],
        careful: bool,
    ) -> None:
        """Rows in statements of many rows each (``_sqlite_bulk.py``); ``careful``: as
        :meth:`_put` does."""
        if careful:
            self._put(conn, _one_row(upsert, len(rows[0])), rows, True)
        else:
            insert_many(conn, *upsert, rows)

    def _claim_all(self, conn: Any, batch: Batch) -> list[list[bool]]:
        """The batch's claims as one when no task is in two of them (else one after the other,
        in order: a task's due times are claimed one after the other)."""
        held = self._held
        claims = [items for items, _ in batch.claims]
        merged = [item for items in claims for item in items]
        if len(claims) < 2 or len({task.id for task, _ in merged}) < len(merged):
            return [held.claim(conn, self.owner, items) if items else [] for items in claims]
        won = held.claim(conn, self.owner, merged) if merged else []
        results, start = [], 0
        for items in claims:
            results.append(won[start : start + len(items)])
            start += len(items)
        return results

    def _commit(self, conn: sqlite3.Connection, batch: Batch, *, careful: bool) -> None:
        tasks, states, deleted = batch.tasks, batch.states, batch.deleted
        held = self._held
        held.hold(list(states.values()))
        task_rows = [task_row(t) for t in tasks.values()]
        whole_states = [state_row(t) for t in tasks.values()]
        plain_rows, execution_rows = self._rows(batch)
        results: list[list[bool]] = []
        held.begin()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if task_rows:  # whole tasks, their state included
                self._put(conn, _TASK_UPSERT, task_rows, careful)
                self._put(conn, TASK_STATE_UPSERT, whole_states, careful)
                ids = json.dumps(list(tasks))
                for task_id, version in conn.execute(TASK_VERSIONS, (ids,)):
                    tasks[task_id]._version = version
                held.written(list(tasks))
            results = self._claim_all(conn, batch)
            held.write(conn, everything=bool(batch.flushes) or self._stopping)
            if deleted:
                gone = [(i,) for i in deleted]
                conn.executemany("DELETE FROM tasks WHERE id = ?", gone)
                conn.executemany("DELETE FROM task_state WHERE id = ?", gone)
                held.written(list(deleted))
            if plain_rows:
                self._put_many(conn, _PLAIN_EXECUTION_UPSERT, plain_rows, careful)
            if execution_rows:
                self._put_many(conn, _EXECUTION_UPSERT, execution_rows, careful)
            changes = None
            if task_rows or deleted:  # others see that tasks changed
                conn.execute(COUNT_CHANGE)
                changes = read_changes(conn)
            if self._on_commit is not None and not batch.claims_only:  # (retention)
                self._on_commit(conn)
            conn.execute("COMMIT")
        except BaseException:
            held.rollback()
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.debug("rollback failed: %s", exc)
            raise
        held.commit()
        if changes is not None:
            self._watch.changes = changes
        self.commits += 1
        self._committed(batch, results)

    def _committed(self, batch: Batch, results: list[list[bool]]) -> None:
        """Answer the claims, release the flushes, call the acknowledgements."""
        for (_, done), result in zip(batch.claims, results, strict=True):
            done(result)
        for event in batch.flushes:
            event.set()
        acks, batch.acks = batch.acks, []
        for ack in acks:
            try:
                ack()
            except Exception:  # a closing loop, say: the writer goes on
                log.exception("a commit acknowledgement failed")

    def _look(self, conn: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """Look for other processes' changes (see ``_watch.py``)."""
        try:
            if conn is None:
                conn = self._connect()
            self._watch.look(conn)
            if time.monotonic() >= self._next_beat:  # a started scheduler looks: it lives
                self._next_beat = time.monotonic() + self.heartbeat
                conn.execute("UPDATE processes SET heartbeat_ts = ? WHERE owner = ?",
                             (time.time(), self.owner))  # fmt: skip
        except sqlite3.Error as exc:
            self._watch.next_look = time.monotonic() + LOOK_SECONDS
            log.debug("could not look for changes: %s", exc)
        return conn
