"""The SQLite writer thread: every write of a process goes through it, in group commits.

The loop thread only marks objects dirty (a dict assignment). The writer wakes on the first
dirty object and commits whatever accumulated within ``window`` seconds (or as soon as
``max_rows`` are dirty, a claim waits or someone flushes) in one transaction, so the event
loop never waits on the disk and thousands of executions cost a handful of commits.

Rows are built here, from the live objects. An object changed while its row is built is marked
dirty again by the change, so the last row written is the final state.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

from .._models import Execution, Task
from ._codec import (
    EXECUTION_COLUMNS,
    TASK_COLUMNS,
    TASK_STATE_UPDATE,
    execution_row,
    task_row,
    task_state_row,
)

__all__ = ["Writer"]

log = logging.getLogger("cognia_nb.stores.sqlite")

ClaimDone = Callable[[list[bool]], None]
_Batch = tuple[
    dict[str, Task],
    dict[str, Task],
    set[str],
    dict[str, Execution],
    list[tuple[list[tuple[str, float]], ClaimDone]],
    list[threading.Event],
]


def _upsert_sql(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}"


_TASK_UPSERT = _upsert_sql("tasks", TASK_COLUMNS)
_EXECUTION_UPSERT = _upsert_sql("executions", EXECUTION_COLUMNS)
_CLAIM = (
    "UPDATE tasks SET claimed_due = ?, claimed_by = ? "
    "WHERE id = ? AND (claimed_due IS NULL OR claimed_due < ?)"
)


class Writer(threading.Thread):
    """One thread, one connection, group commits."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        owner: str,
        *,
        window: float = 0.05,
        max_rows: int = 500,
        on_commit: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        super().__init__(name="cognia_nb-sqlite-writer", daemon=True)
        self._connect = connect
        self.owner = owner
        self.window = window
        self.max_rows = max_rows
        self._on_commit = on_commit
        self._cond = threading.Condition()
        self._tasks: dict[str, Task] = {}
        self._states: dict[str, Task] = {}
        self._deleted: set[str] = set()
        self._executions: dict[str, Execution] = {}
        self._claims: list[tuple[list[tuple[str, float]], ClaimDone]] = []
        self._flushes: list[threading.Event] = []
        self._first_dirty: float | None = None
        self._stopping = False
        self.error: BaseException | None = None
        self.commits = 0

    # -- called from the loop thread (never blocks on disk) -------------------------------

    def save_task(self, task: Task, *, full: bool = True) -> None:
        """Mark a task for writing: all of it, or only its firing state (``full=False``)."""
        with self._cond:
            if full:
                self._deleted.discard(task.id)
                self._tasks[task.id] = task
                self._states.pop(task.id, None)
            elif task.id not in self._tasks:
                self._states[task.id] = task
            self._dirty()

    def delete_task(self, task_id: str) -> None:
        with self._cond:
            self._tasks.pop(task_id, None)
            self._states.pop(task_id, None)
            self._deleted.add(task_id)
            self._dirty()

    def save_execution(self, execution: Execution) -> None:
        with self._cond:
            self._executions[execution.id] = execution
            self._dirty()

    def claim(self, items: list[tuple[str, float]], done: ClaimDone) -> None:
        """Claim due firings; ``done(results)`` is called from the writer thread."""
        with self._cond:
            self._claims.append((items, done))
            self._cond.notify()

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything marked so far is committed."""
        if not self.is_alive():
            return
        event = threading.Event()
        with self._cond:
            self._flushes.append(event)
            self._cond.notify()
        event.wait(timeout)

    def stop(self) -> None:
        """Commit what is pending and end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self.is_alive():
            self.join(30)

    def _dirty(self) -> None:
        if self._first_dirty is None:
            self._first_dirty = time.monotonic()
            self._cond.notify()
        elif len(self._executions) + len(self._tasks) + len(self._states) >= self.max_rows:
            self._cond.notify()

    # -- the thread -----------------------------------------------------------------------

    def run(self) -> None:
        conn = self._connect()
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    break
                self._commit(conn, batch)
        except BaseException as exc:
            self.error = exc
            log.exception("the SQLite writer stopped; later writes are lost")
            with self._cond:
                for event in self._flushes:
                    event.set()
                for items, done in self._claims:
                    done([False] * len(items))
        finally:
            conn.close()

    def _ready(self) -> bool:
        if self._stopping or self._claims or self._flushes:
            return True
        if self._first_dirty is None:
            return False
        if len(self._executions) + len(self._tasks) + len(self._states) >= self.max_rows:
            return True
        return time.monotonic() - self._first_dirty >= self.window

    def _next_batch(self) -> _Batch | None:
        with self._cond:
            while not self._ready():
                wait = None
                if self._first_dirty is not None:
                    wait = max(0.0, self.window - (time.monotonic() - self._first_dirty))
                self._cond.wait(wait)
            if self._stopping and not (self._tasks or self._states or self._executions
                                       or self._deleted or self._claims
                                       or self._flushes):  # fmt: skip
                return None
            batch = (self._tasks, self._states, self._deleted, self._executions, self._claims,
                     self._flushes)  # fmt: skip
            self._tasks, self._states, self._deleted, self._executions = {}, {}, set(), {}
            self._claims, self._flushes = [], []
            self._first_dirty = None
            return batch

    def _commit(self, conn: sqlite3.Connection, batch: _Batch) -> None:
        tasks, states, deleted, executions, claims, flushes = batch
        task_rows = [task_row(t) for t in tasks.values()]
        state_rows = [task_state_row(t) for t in states.values()]
        execution_rows = [execution_row(e, self.owner) for e in executions.values()]
        results: list[list[bool]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            if task_rows:
                conn.executemany(_TASK_UPSERT, task_rows)
            if state_rows:
                conn.executemany(TASK_STATE_UPDATE, state_rows)
            if deleted:
                conn.executemany("DELETE FROM tasks WHERE id = ?", [(i,) for i in deleted])
            if execution_rows:
                conn.executemany(_EXECUTION_UPSERT, execution_rows)
            for items, _ in claims:
                results.append([
                    conn.execute(_CLAIM, (due, self.owner, task_id, due)).rowcount == 1
                    for task_id, due in items
                ])  # fmt: skip
            if self._on_commit is not None:
                self._on_commit(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.commits += 1
        for (_, done), result in zip(claims, results, strict=True):
            done(result)
        for event in flushes:
            event.set()
