"""What one commit of the SQLite writer holds (a failed batch is merged with the next)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .._model.task import Execution, Task

__all__ = ["LOOK", "Batch", "Claim", "ClaimDone", "Look"]

ClaimDone = Callable[[list[bool]], None]
Claim = tuple[list[tuple[Task, float]], ClaimDone]


class Look:
    """Not a batch: time to look for other processes' changes."""


class Batch:
    """What one commit writes (a failed batch is merged with the next one)."""

    __slots__ = ("acks", "claims", "deleted", "executions", "flushes", "states", "tasks")

    def __init__(self, tasks: dict[str, Task], states: dict[str, Task], deleted: set[str],
                 executions: dict[str, Execution], *, claims: list[Claim],
                 flushes: list[threading.Event]) -> None:  # fmt: skip
        self.tasks, self.states, self.deleted = tasks, states, deleted
        self.executions, self.claims, self.flushes = executions, claims, flushes
        self.acks: list[Callable[[], None]] = []  # called once committed (strict durability)

    @property
    def claims_only(self) -> bool:
        """Claims and the states they carry, nothing else (the writer's retention waits for a
        commit that writes executions)."""
        return bool(self.claims) and not (self.executions or self.tasks or self.deleted)

    def __len__(self) -> int:
        return len(self.tasks) + len(self.states) + len(self.deleted) + len(self.executions)

    def merge(self, later: Batch) -> Batch:
        """This failed batch and the next one, as one (the later change of an object wins)."""
        for task_id in later.deleted:
            self.tasks.pop(task_id, None)
            self.states.pop(task_id, None)
        self.deleted -= later.tasks.keys()
        self.deleted |= later.deleted
        self.tasks.update(later.tasks)
        self.states.update(later.states)
        for task_id in self.tasks:
            self.states.pop(task_id, None)
        self.executions.update(later.executions)
        self.claims, self.flushes = later.claims, later.flushes
        self.acks.extend(later.acks)
        return self


LOOK = Look()
