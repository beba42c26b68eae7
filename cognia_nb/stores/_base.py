"""The store interface: where tasks and executions live between runs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from .._models import Execution, ExecutionStatus, Task

__all__ = ["Store"]


class Store(ABC):
    """Persistence for a scheduler. Called on the loop thread; must never block it for long
    (a disk store queues writes to a writer thread and commits them in groups).

    Executions are saved when created, when they start and when they finish; ``save_*`` of an
    object already stored replaces it.
    """

    #: Where the data lives, for messages ("memory" or a path).
    location: str = "memory"

    def open(self) -> None:  # noqa: B027 - optional hook
        """Open or create the underlying storage (called by ``Scheduler.start``)."""

    @abstractmethod
    def load_tasks(self) -> list[Task]:
        """Every stored task."""

    @abstractmethod
    def save_task(self, task: Task) -> None:
        """Insert or replace a task."""

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

    def claim(self, task_id: str, due_ts: float) -> bool:
        """Claim the firing of ``task_id`` due at ``due_ts``; False if another process did.

        A store shared between processes makes this an atomic conditional update; a private
        store always succeeds.
        """
        return True

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Write everything queued (blocks until written)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release resources."""
