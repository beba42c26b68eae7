"""Seeing other processes' changes to a shared SQLite file, without polling tables.

Every commit that creates, updates or deletes a task bumps a ``tasks_changed`` counter in
``meta``. The writer thread looks every :data:`LOOK_SECONDS`: ``PRAGMA data_version`` (one
integer, moves when another connection committed) first; only when it moved, the counter; only
when that moved too, the tasks' versions, and then the rows of the tasks whose version moved,
which go to the watcher with the ids of all stored tasks.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable

from .._model.task import Task
from ._codec import TASK_SELECT, task_from_row

__all__ = ["COUNT_CHANGE", "LOOK_SECONDS", "ChangeWatch", "Watcher", "read_changes"]

log = logging.getLogger("cognia_nb.stores.sqlite")

LOOK_SECONDS = 0.5
#: In a commit that changed tasks (then :func:`read_changes`, in the same transaction).
COUNT_CHANGE = ("INSERT INTO meta (key, value) VALUES ('tasks_changed', '1') ON CONFLICT(key) "
                "DO UPDATE SET value = CAST(value AS INTEGER) + 1")  # fmt: skip
_CHANGES = "SELECT value FROM meta WHERE key = 'tasks_changed'"
_VERSIONS = ("SELECT t.id, coalesce(s.version, 0) FROM tasks AS t "
             "LEFT JOIN task_state AS s ON s.id = t.id")  # fmt: skip
_CHANGED_TASKS = TASK_SELECT + " WHERE t.id IN (SELECT value FROM json_each(?))"
#: ``watcher(changed tasks, ids of every stored task)``
Watcher = Callable[[list[Task], set[str]], None]


def read_changes(conn: sqlite3.Connection) -> str | None:
    """The ``tasks_changed`` counter."""
    row = conn.execute(_CHANGES).fetchone()
    return None if row is None else str(row[0])


class ChangeWatch:
    """The writer thread's view of what it last saw (see the module docstring)."""

    def __init__(self) -> None:
        self.watcher: Watcher | None = None
        self.next_look = 0.0
        self.changes: str | None = None  # the counter last seen or written by this process
        self._data_version: int | None = None
        self._versions: dict[str, int] = {}  # task id -> version, at the last look

    def due(self) -> bool:
        return self.watcher is not None and time.monotonic() >= self.next_look

    def look(self, conn: sqlite3.Connection) -> None:
        """Tell the watcher about other processes' task changes, if any (raises
        ``sqlite3.Error``)."""
        self.next_look = time.monotonic() + LOOK_SECONDS
        watcher = self.watcher
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._data_version or watcher is None:
            return
        self._data_version = version
        changes = read_changes(conn)
        if changes == self.changes:
            return
        self.changes = changes
        versions = dict(conn.execute(_VERSIONS).fetchall())
        changed = [t for t, v in versions.items() if self._versions.get(t) != v]
        self._versions = versions
        tasks = []
        for row in conn.execute(_CHANGED_TASKS, (json.dumps(changed),)).fetchall():
            try:
                tasks.append(task_from_row(row))
            except (ValueError, KeyError) as exc:
                log.error("task %r cannot be read and is skipped: %s", row[0], exc)
        try:
            watcher(tasks, set(versions))
        except Exception:  # a closing loop, say: the writer goes on
            log.exception("the store's change watcher failed")
