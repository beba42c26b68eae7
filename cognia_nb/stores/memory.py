"""An in-memory store: fast, private to the process, gone when it exits."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence

from .._model.task import Execution, ExecutionStatus, Task
from ._base import Store

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """Keeps tasks and the latest ``max_executions_per_task`` executions of each task.

    Args:
        max_executions_per_task: history kept per task (older executions are dropped).
    """

    location = "memory"
    live_objects = True

    def __init__(self, max_executions_per_task: int = 1000) -> None:
        self.max_executions_per_task = max_executions_per_task
        self._tasks: dict[str, Task] = {}
        self._executions: dict[str, Execution] = {}
        # Per task, a ring of its latest executions, oldest first (at most
        # max_executions_per_task, more only while the oldest still runs).
        self._by_task: dict[str, deque[Execution]] = {}

    def load_tasks(self) -> list[Task]:
        return list(self._tasks.values())

    def save_task(self, task: Task) -> None:
        self._tasks[task.id] = task

    def delete_task(self, task_id: str) -> None:
        self._tasks.pop(task_id, None)

    def save_execution(self, execution: Execution) -> None:
        known = self._executions
        stored = known.get(execution.id)
        if stored is not None:
            if stored is not execution:  # another object for the same execution replaces it
                known[execution.id] = execution
                stored_in = self._by_task[execution.task_id]
                stored_in[stored_in.index(stored)] = execution
            return
        known[execution.id] = execution
        ring = self._by_task.get(execution.task_id)
        if ring is None:
            self._by_task[execution.task_id] = deque((execution,))
            return
        ring.append(execution)
        if len(ring) > self.max_executions_per_task:
            self._trim(ring)

    def _trim(self, ring: deque[Execution]) -> None:
        """Drop the oldest executions past the limit (never a running one)."""
        while len(ring) > self.max_executions_per_task and ring[0].finished:
            del self._executions[ring.popleft().id]

    def get_execution(self, execution_id: str) -> Execution | None:
        return self._executions.get(execution_id)

    def list_executions(
        self,
        task_id: str | None = None,
        *,
        limit: int | None = None,
        statuses: Sequence[ExecutionStatus] | None = None,
        since_ts: float | None = None,
    ) -> list[Execution]:
        candidates: Iterator[Execution]
        if task_id is not None:
            candidates = reversed(self._by_task.get(task_id, ()))
        else:
            candidates = iter(
                sorted(self._executions.values(), key=lambda e: e.created_ts, reverse=True)
            )
        out: list[Execution] = []
        wanted = set(statuses) if statuses else None
        for execution in candidates:
            if wanted is not None and execution.status not in wanted:
                continue
            if since_ts is not None and execution.created_ts < since_ts:
                continue
            out.append(execution)
            if limit is not None and len(out) >= limit:
                break
        return out
