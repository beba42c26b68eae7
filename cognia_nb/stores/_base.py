"""The store interface: where tasks and executions live between runs."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from .._model.task import Execution, ExecutionStatus, Task
from ._health import StoreHealth

__all__ = ["Store"]


class Store(ABC):
    """Persistence for a scheduler. Called on the loop thread; must never block it for long
    (a disk store queues writes to a writer thread and commits them in groups).

    Executions are saved when created, when they start and when they finish; ``save_*`` of an
    object already stored replaces it. A store with ``live_objects`` keeps the scheduler's own
    objects, so it is only told about new ones.
    """

    #: Where the data lives, for messages ("memory" or a path).
    location: str = "memory"
    #: True when claims are answered later, from another thread (a shared store).
    claims_async: bool = False
    #: True when the store keeps the very Task and Execution objects it was given: saving one
    #: again after a change is then not needed (and the scheduler skips it).
    live_objects: bool = False
    #: Set by ``Scheduler(durability="strict")`` before :meth:`open`: sync every commit.
    strict: bool = False
    #: The time source for retention and bookkeeping; a scheduler sets its clock's ``now``.
    now: Callable[[], float] = staticmethod(time.time)

    @property
    def health(self) -> StoreHealth:
        """Whether writes reach the storage (always ok for a store that cannot fail)."""
        return StoreHealth()

    def open(self) -> None:  # noqa: B027 - optional hook
        """Open or create the underlying storage (called by ``Scheduler.start``)."""

    @abstractmethod
    def load_tasks(self) -> list[Task]:
        """Every stored task."""

    @abstractmethod
    def save_task(self, task: Task) -> None:
        """Insert or replace a task."""

    def save_task_state(self, task: Task) -> None:
        """Save what firing changes (status, next/last run, counters); cheaper than a full save."""
        self.save_task(task)

    @abstractmethod
    def delete_task(self, task_id: str) -> None:
        """Remove a task (its executions stay as history)."""

    @abstractmethod
    def save_execution(self, execution: Execution) -> None:
        """Insert or replace an execution."""

    @abstractmethod
    def get_execution(self, execution_id: str) -> Execution | None:
        """One execution, or None."""

    @abstractmethod
    def list_executions(
        self,
        task_id: str | None = None,
        *,
        limit: int | None = None,
        statuses: Sequence[ExecutionStatus] | None = None,
        since_ts: float | None = None,
    ) -> list[Execution]:
        """Executions, newest first."""

    def claim_batch(
        self, items: list[tuple[Task, float]], done: Callable[[list[bool]], None]
    ) -> None:
        """Claim due firings ``(task, due_ts)``; ``done(won)`` gets one bool per item.

        A store shared between processes answers with an atomic conditional update, possibly
        later and from another thread (``claims_async``); a private store wins every claim at
        once. A claim may also record the task's firing state (the SQLite store does).
        """
        done([True] * len(items))

    def history_columns(
        self,
        task_id: str | None = None,
        *,
        limit: int | None = None,
        statuses: Sequence[ExecutionStatus] | None = None,
        since_ts: float | None = None,
    ) -> dict[str, Any]:
        """Executions (oldest first) for ``Scheduler.history``, in the encoding of
        ``stores/_history.py``: a few long strings instead of an object per row."""
        from ._history import encode_executions

        rows = self.list_executions(task_id, limit=limit, statuses=statuses, since_ts=since_ts)
        rows.sort(key=lambda e: (e.created_ts, e.id))  # ids count up within a scheduler
        return encode_executions(rows)

    def watch(  # noqa: B027 - optional hook
        self, watcher: Callable[[list[Task], set[str]], None] | None
    ) -> None:
        """Call ``watcher(changed, ids)`` whenever another process changed a task: the tasks
        whose stored version moved and the ids of all stored tasks (from another thread; a
        store no other process shares never calls it)."""

    def task_unwritten(self, task_id: str) -> bool:
        """Whether this process saved the task and the save is not stored yet."""
        return False

    def stored_trigger(self, task_id: str) -> Any:
        """The stored trigger dict of a task another process may have created (None)."""
        return None

    def when_committed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once everything saved so far is committed (at once here)."""
        callback()

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Write everything queued (blocks until written)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release resources."""
