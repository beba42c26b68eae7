"""The SQLite writer thread: every write of a process goes through it, in group commits.

The loop thread only marks objects dirty: executions and task states are appended to a deque
(thread-safe, no lock), rarer changes (whole tasks, deletes, claims, flushes) go under the lock.
The writer wakes on the first dirty object and commits whatever accumulated within ``window``
seconds (or as soon as ``max_rows`` are dirty, a claim waits or someone flushes) in one
transaction, so the event loop never waits on the disk and thousands of executions cost a
handful of commits. An execution saved three times before its commit is written once.

No append is ever stranded: the loop appends *before* it looks whether the writer is idle, and
the writer marks itself idle *before* it drains the deques.

Rows are built here, from the live objects. An object changed while its row is built is marked
dirty again by the change, so the last row written is the final state.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable

from .._models import Execution, Task
from ._codec import (
    EXECUTION_COLUMNS,
    PLAIN_EXECUTION_COLUMNS,
    TASK_COLUMNS,
    TASK_STATE_UPSERT,
    execution_row,
    plain_execution_row,
    state_row,
    task_row,
)
from ._procs import HEARTBEAT_SECONDS
from ._states import ROWS_PER_GIL_HOLD, HeldStates, let_others_run

__all__ = ["Writer"]

log = logging.getLogger("cognia_nb.stores.sqlite")

ClaimDone = Callable[[list[bool]], None]
Claim = tuple[list[tuple[Task, float]], ClaimDone]
_Batch = tuple[
    dict[str, Task],
    dict[str, Task],
    set[str],
    dict[str, Execution],
    list[Claim],
    list[threading.Event],
    bool,  # stopping
]


def _upsert_sql(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}"


_TASK_UPSERT = _upsert_sql("tasks", TASK_COLUMNS)
_EXECUTION_UPSERT = _upsert_sql("executions", EXECUTION_COLUMNS)
_PLAIN_EXECUTION_UPSERT = _upsert_sql("executions", PLAIN_EXECUTION_COLUMNS)


class Writer(threading.Thread):
    """One thread, one connection, group commits."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        owner: str,
        *,
        window: float = 0.05,
        claim_window: float = 0.002,
        max_rows: int = 500,
        on_commit: Callable[[sqlite3.Connection], None] | None = None,
        heartbeat: float | None = HEARTBEAT_SECONDS,
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
        self._first_dirty: float | None = None
        self._stopping = False
        self.error: BaseException | None = None
        self.commits = 0
        # The process table's heartbeat_ts (``cognia-nb status``), written every `heartbeat` s.
        self.heartbeat = heartbeat
        self._next_beat = None if heartbeat is None else time.monotonic() + heartbeat

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
        if self._stopping or self._flushes:
            return True
        if self._next_beat is not None and time.monotonic() >= self._next_beat:
            return True
        if self._claims and time.monotonic() - self._first_claim >= self.claim_window:
            return True
        if self._first_dirty is None:
            if not (self._execution_queue or self._state_queue):
                held_due = self._held.next_due()
                return held_due is not None and time.monotonic() >= held_due
            self._first_dirty = time.monotonic()  # appended while the last batch was taken
        if self._pending() >= self.max_rows:
            return True
        return time.monotonic() - self._first_dirty >= self.window

    def _next_batch(self) -> _Batch | None:
        with self._cond:
            while not self._ready():
                wait = None
                if self._first_dirty is not None:
                    wait = max(0.0, self.window - (time.monotonic() - self._first_dirty))
                if self._claims:
                    until = max(0.0, self._first_claim + self.claim_window - time.monotonic())
                    wait = until if wait is None else min(wait, until)
                for due in (self._held.next_due(), self._next_beat):
                    if due is not None:
                        until = max(0.0, due - time.monotonic())
                        wait = until if wait is None else min(wait, until)
                self._cond.wait(wait)
            self._first_dirty = None  # before draining: see the module docstring
            # Saves came through the deques; the last save of an object is the one kept.
            executions: dict[str, Execution] = {}
            states: dict[str, Task] = {}
            queue = self._execution_queue
            while queue:
                execution = queue.popleft()
                executions[execution.id] = execution
            tasks = self._tasks
            state_queue = self._state_queue
            while state_queue:
                task = state_queue.popleft()
                if task.id not in tasks:
                    states[task.id] = task
            if self._stopping and not (tasks or states or executions or self._deleted
                                       or self._claims or self._flushes
                                       or len(self._held)):  # fmt: skip
                return None
            batch = (tasks, states, self._deleted, executions, self._claims, self._flushes,
                     self._stopping)  # fmt: skip
            self._tasks, self._deleted = {}, set()
            self._claims, self._flushes = [], []
            return batch

    def _beat(self, conn: sqlite3.Connection) -> None:
        if self._next_beat is None or time.monotonic() < self._next_beat:
            return
        assert self.heartbeat is not None
        self._next_beat = time.monotonic() + self.heartbeat
        conn.execute("UPDATE processes SET heartbeat_ts = ? WHERE owner = ?",
                     (time.time(), self.owner))  # fmt: skip

    def _commit(self, conn: sqlite3.Connection, batch: _Batch) -> None:
        tasks, states, deleted, executions, claims, flushes, stopping = batch
        held = self._held
        held.hold(list(states.values()))
        task_rows = [task_row(t) for t in tasks.values()]
        whole_states = [state_row(t) for t in tasks.values()]
        plain_rows, execution_rows = [], []
        for i, execution in enumerate(executions.values(), 1):
            row = plain_execution_row(execution, self.owner)
            if row is not None:
                plain_rows.append(row)
            else:
                execution_rows.append(execution_row(execution, self.owner))
            if not i % ROWS_PER_GIL_HOLD:
                let_others_run()
        results: list[list[bool]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            if task_rows:  # whole tasks, their state included
                conn.executemany(_TASK_UPSERT, task_rows)
                conn.executemany(TASK_STATE_UPSERT, whole_states)
                held.written(list(tasks))
            for items, _ in claims:
                results.append(held.claim(conn, self.owner, items))
            held.write(conn, everything=bool(flushes) or stopping)
            if deleted:
                gone = [(i,) for i in deleted]
                conn.executemany("DELETE FROM tasks WHERE id = ?", gone)
                conn.executemany("DELETE FROM task_state WHERE id = ?", gone)
                held.written(list(deleted))
            if plain_rows:
                conn.executemany(_PLAIN_EXECUTION_UPSERT, plain_rows)
            if execution_rows:
                conn.executemany(_EXECUTION_UPSERT, execution_rows)
            if self._on_commit is not None:
                self._on_commit(conn)
            self._beat(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.commits += 1
        for (_, done), result in zip(claims, results, strict=True):
            done(result)
        for event in flushes:
            event.set()
