"""Seeing other processes' changes to a PostgreSQL store: LISTEN/NOTIFY, with a reconcile.

The writer's connection ``LISTEN``\\ s on the store's channel; every commit that creates,
updates or deletes a task sends a ``NOTIFY`` whose payload is the committing process's owner
token. The writer thread looks every :data:`~cognia_nb.stores._watch.LOOK_SECONDS`: it reads
the notifications that arrived (no query); when one came from another process, or every
:data:`RECONCILE_SECONDS` anyway (a notification lost with a dropped connection), it reads the
tasks' versions and hands the tasks whose version moved to the watcher, with every stored id.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ._codec import TASK_SELECT, task_from_row
from ._watch import LOOK_SECONDS, Watcher

__all__ = ["RECONCILE_SECONDS", "PgChangeWatch"]

log = logging.getLogger("cognia_nb.stores.postgres")

RECONCILE_SECONDS = 5.0
_VERSIONS = ("SELECT t.id, coalesce(s.version, 0) FROM tasks AS t "
             "LEFT JOIN task_state AS s ON s.id = t.id")  # fmt: skip
_CHANGED_TASKS = TASK_SELECT + " WHERE t.id = ANY(%s)"


class PgChangeWatch:
    """The writer thread's view of what it last saw (see the module docstring)."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.watcher: Watcher | None = None
        self.next_look = 0.0
        self.changes: str | None = None  # (kept for the SQLite writer's interface)
        self.next_reconcile = 0.0
        self.looks = 0  # version reads made (notified or reconciling)
        self._versions: dict[str, int] = {}  # task id -> version, as last seen or written
        self._commits = 0
        self.written_at: dict[str, int] = {}  # task id -> this process's commit that wrote it

    def committed(self, versions: dict[str, int], deleted: set[str]) -> None:
        """This process committed these task versions and deletes (writer thread): a look
        reports only what others changed, and never a stale view of this process's own."""
        self._commits += 1
        self._versions.update(versions)
        for task_id in versions:
            self.written_at[task_id] = self._commits
        for task_id in deleted:
            self._versions.pop(task_id, None)
            self.written_at.pop(task_id, None)

    def due(self) -> bool:
        return self.watcher is not None and time.monotonic() >= self.next_look

    def _notified(self, conn: Any) -> bool:
        return any(n.payload != self.owner for n in conn.notifies(timeout=0))

    def look(self, conn: Any) -> None:
        """Tell the watcher about other processes' task changes, if any (raises
        ``psycopg.Error``)."""
        now = time.monotonic()
        self.next_look = now + LOOK_SECONDS
        watcher = self.watcher
        notified = self._notified(conn)
        if watcher is None or not (notified or now >= self.next_reconcile):
            return
        self.next_reconcile = now + RECONCILE_SECONDS
        self.looks += 1
        with conn.transaction():
            versions = {str(i): int(v) for i, v in conn.execute(_VERSIONS).fetchall()}
            changed = [t for t, v in versions.items() if self._versions.get(t) != v]
            rows = conn.execute(_CHANGED_TASKS, (changed,)).fetchall() if changed else []
        gone = self._versions.keys() - versions.keys()
        self._versions = versions
        if not changed and not gone:
            return
        tasks = []
        for row in rows:
            try:
                tasks.append(task_from_row(row))
            except (ValueError, KeyError) as exc:
                log.error("task %r cannot be read and is skipped: %s", row[0], exc)
        try:
            watcher(tasks, _Seen(versions, self, self._commits))
        except Exception:  # a closing loop, say: the writer goes on
            log.exception("the store's change watcher failed")


class _Seen(set[str]):
    """The ids of a look, plus the tasks this process committed after it: the watcher runs
    later, on the loop, and must not take a task created here meanwhile for one deleted."""

    def __init__(self, ids: dict[str, int], watch: PgChangeWatch, commits: int) -> None:
        super().__init__(ids)
        self._watch, self._commits = watch, commits

    def __contains__(self, task_id: object) -> bool:
        if super().__contains__(task_id):
            return True
        return self._watch.written_at.get(str(task_id), 0) > self._commits
