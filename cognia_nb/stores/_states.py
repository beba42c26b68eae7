"""Task firing state in the SQLite writer: claims that carry it, and writes held back.

Each firing changes a task's state (next/last run, counters) and, on a shared store, claims
the firing with an ``UPDATE`` of the same row. Writing the row twice per firing was a third of
the writer's work, so the two are merged:

* a claim writes the task's state as it is when the claim is made (read from the live object,
  like every row the writer builds), together with ``claimed_due``;
* a state change is *held* for up to :data:`HOLD_SECONDS`; a won claim made after it carries it,
  and the held write is dropped. What no claim carries in time is written on its own, and a
  flush (every read, ``stop``) writes everything held.

So a task firing every few seconds costs one row write per firing, and the stored state is never
more than :data:`HOLD_SECONDS` behind (``flush()`` makes it exact). Every object here belongs to
the writer thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from ._codec import STATE_COLUMNS, TASK_STATE_UPDATE, state_assignments, state_row
from ._sqlite_bulk import UPDATE_FROM, chunk_rows, chunks, values_marks

if TYPE_CHECKING:
    from .._model.task import Task

__all__ = [
    "GIL_HOLD_SECONDS",
    "HOLD_SECONDS",
    "ROWS_PER_LOOK",
    "HeldStates",
    "hold_until",
    "let_others_run",
]

HOLD_SECONDS = 2.0

# Building rows is Python work that holds the GIL, and a thread waiting for the GIL only asks
# for it after the switch interval (5 ms): the event loop would stall that long whenever the
# writer is busy. So the writer lets go of the GIL once it has held it for GIL_HOLD_SECONDS
# (looking every ROWS_PER_LOOK rows). Not more often: getting the GIL back from a busy loop
# takes up to the switch interval too, and letting go every 200 rows (a fixed count, 50 µs of
# plain rows) made a 8,000-row commit wait 200 ms for 30 ms of work.
ROWS_PER_LOOK = 64
GIL_HOLD_SECONDS = 0.001


def hold_until() -> float:
    """When (``time.perf_counter``) the writer, starting to build rows now, lets others run."""
    return time.perf_counter() + GIL_HOLD_SECONDS


def let_others_run(until: float) -> float:
    """Past ``until``, release the GIL for a moment (a blocking call: a thread waiting for it
    takes it); the next ``until``."""
    if time.perf_counter() < until:
        return until
    time.sleep(0)
    return hold_until()


# A conditional update per firing records the claim and the task's state; the winners are then
# read back in one SELECT (claimed_by names this very claim), unless every row changed (the
# common case: nobody else claims). The write lock held by the transaction keeps other
# processes out between the two. The row-by-row form (``executemany``) is what a claim naming a
# task twice, or an SQLite older than 3.33, runs. Parameters: the due time, the claim's token,
# :func:`state_row` (id first), the version.
_CLAIM = (
    f"UPDATE task_state SET claimed_due = ?1, claimed_by = ?2, {state_assignments(4)} "
    "WHERE id = ?3 AND (claimed_due IS NULL OR claimed_due < ?1) "
    f"AND version = ?{len(STATE_COLUMNS) + 3}"
)
# The same claim for many firings in one statement (see ``_sqlite_bulk.py``): the token bound
# first, then per firing the due time, :func:`state_row` and the version.
_CLAIM_HEAD = (
    f"WITH token(t) AS (SELECT ?), v(due, {', '.join(STATE_COLUMNS)}, version) AS (VALUES "
)
_CLAIM_TAIL = (
    ") UPDATE task_state SET claimed_due = v.due, claimed_by = (SELECT t FROM token), "
    + ", ".join(f"{c} = v.{c}" for c in STATE_COLUMNS[1:])
    + " FROM v WHERE task_state.id = v.id AND (task_state.claimed_due IS NULL "
    "OR task_state.claimed_due < v.due) AND task_state.version = v.version"
)
# The winners as one JSON array: one step however many there are (a step lets go of the GIL,
# and getting it back may take the switch interval, see ``_sqlite_bulk.py``).
_WON = (
    "SELECT json_group_array(id) FROM task_state "
    "WHERE id IN (SELECT value FROM json_each(?)) AND claimed_by = ?"
)


class HeldStates:
    """State writes held back by the writer thread (see the module docstring)."""

    def __init__(self, hold_seconds: float = HOLD_SECONDS) -> None:
        self.hold_seconds = hold_seconds
        self._claims = 0  # makes each claim's claimed_by unique: see claim()
        # task id -> (task, when first held, its state_seq then); insertion order = age
        self._held: dict[str, tuple[Task, float, int]] = {}
        # what the open transaction took out of _held, put back if it rolls back
        self._taken: dict[str, tuple[Task, float, int]] | None = None

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, tasks: list[Task]) -> None:
        """Tasks whose state changed (a later change keeps the first one's age)."""
        held, now = self._held, time.monotonic()
        for task in tasks:
            old = held.get(task.id)
            held[task.id] = (task, now if old is None else old[1], task._state_seq)

    def begin(self) -> None:
        """A transaction starts: what it takes out is put back by :meth:`rollback`."""
        self._taken = {}

    def commit(self) -> None:
        self._taken = None

    def rollback(self) -> None:
        """The transaction failed: hold again what it took (with its age)."""
        taken, self._taken = self._taken or {}, None
        if taken:
            self._held = {**taken, **self._held}

    def clear(self) -> int:
        """Forget everything held (given up at close); how many states that was."""
        count = len(self._held)
        self._held.clear()
        return count

    def _take(self, task_id: str) -> None:
        entry = self._held.pop(task_id, None)
        if entry is not None and self._taken is not None:
            self._taken.setdefault(task_id, entry)

    def written(self, task_ids: list[str]) -> None:
        """These tasks' rows were written whole (or deleted): nothing of them is held."""
        for task_id in task_ids:
            self._take(task_id)

    def next_due(self) -> float | None:
        """When (``time.monotonic``) the oldest held state must be written, if any."""
        for _, since, _ in self._held.values():
            return since + self.hold_seconds
        return None

    def claim(
        self, conn: sqlite3.Connection, owner: str, items: list[tuple[Task, float]]
    ) -> list[bool]:
        """Claim ``(task, due)`` firings, writing each won task's state; one bool per item."""
        token = self._token(owner)
        seqs: dict[str, int] = {}
        if UPDATE_FROM and len({task.id for task, _ in items}) == len(items):
            width = len(STATE_COLUMNS) + 2
            changes = conn.total_changes
            for start, count in chunks(len(items), chunk_rows(conn, width)):
                params: list[Any] = [token]  # each chunk built just before it runs (the
                for task, due in items[start : start + count]:  # run lets the loop go on)
                    seqs[task.id] = task._state_seq  # before reading the state: see _results
                    params.append(due)
                    params.extend(state_row(task))
                    params.append(task._version)
                conn.execute(f"{_CLAIM_HEAD}{values_marks(width, count)}{_CLAIM_TAIL}", params)
            if conn.total_changes - changes == len(items):  # each task's row once: all won
                return self._results(items, set(seqs), seqs)
        else:  # a task given twice (won once, by its first item), or an old SQLite
            rows = []
            for task, due in items:
                seqs[task.id] = task._state_seq
                rows.append((due, token, *state_row(task), task._version))
            conn.executemany(_CLAIM, rows)
        (won,) = conn.execute(_WON, (json.dumps(list(seqs)), token)).fetchone()
        return self._results(items, set(json.loads(won)), seqs)

    def _token(self, owner: str) -> str:
        """A new claim's ``claimed_by``: it names this very claim, so reading the winners back
        cannot mistake an earlier claim of the same firing for this one."""
        self._claims += 1
        return f"{owner}/{self._claims}"

    def _results(
        self, items: list[tuple[Task, float]], won: set[str], seqs: dict[str, int]
    ) -> list[bool]:
        """One bool per claimed item from the ids ``won``; a won claim made from a task's state
        at ``seqs[id]`` or later carried what was held of it, which is then dropped."""
        held = self._held
        if len(won) == len(seqs) == len(items):  # every firing won, each task once
            for task, _ in items:
                entry = held.get(task.id)
                if entry is not None and entry[2] <= seqs[task.id]:
                    self._take(task.id)
            return [True] * len(items)
        results = []
        for task, _ in items:  # a task given twice is won once
            mine = task.id in won
            won.discard(task.id)
            results.append(mine)
            entry = held.get(task.id) if mine else None
            if entry is not None and entry[2] <= seqs[task.id]:
                self._take(task.id)  # the claim carried everything that was held
        return results

    def write(self, conn: sqlite3.Connection, *, everything: bool = False) -> int:
        """Write the states held for ``hold_seconds`` (all of them with ``everything``)."""
        due = self._due(everything)
        if due:
            conn.executemany(TASK_STATE_UPDATE, [(*state_row(t), t._version) for t in due])
        return len(due)

    def _due(self, everything: bool) -> list[Task]:
        """Take out the states held for ``hold_seconds`` (all of them with ``everything``)."""
        held = self._held
        if not held:
            return []
        cutoff = time.monotonic() - self.hold_seconds
        due: list[Task] = []
        for task, since, _ in held.values():
            if not everything and since > cutoff:
                break
            due.append(task)
        for task in due:
            self._take(task.id)
        return due
