"""One firing: a :class:`Run` is the :class:`Execution` itself plus its live state while it is
pending or running (one object per firing; the store keeps it as the execution).

The runner, the give-up rules and the firing side all hold runs; keeping the record in its own
module lets each of them import it without importing the others.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
from typing import Any

from .._model.task import Execution, ExecutionStatus, Task, TriggerKind
from .context import AbortSignal

__all__ = ["Run"]

_PENDING = ExecutionStatus.PENDING  # read from a global: see ``_model.task._OPEN``


class Run(Execution):
    """One firing: the :class:`Execution` itself plus its live state while it is pending or
    running (one object per firing; the store keeps it as the execution).

    A copy (``copy.copy``, what plugins are handed) is a plain :class:`Execution`.
    """

    __slots__ = (
        "aio_task",
        "cancel_reason",
        "ctx",
        "depth",
        "engine_cancel",
        "in_handler",
        "launched",
        "on_loop",
        "signal",
        "task",
        "thread",
        "timer",
        "waiters",
    )

    def __init__(  # noqa: PLR0917 - positional: built once per firing
        self,
        task: Task,
        execution_id: str,
        kind: TriggerKind,
        scheduled_ts: float,
        created_ts: float,
        depth: int = 0,
    ) -> None:
        # Every field of Execution set here, not through its generated __init__ (one frame
        # and a fifth of the firing's attribute stores fewer; a test in
        # tests/engine/test_firing_record.py checks that this covers every field, so a new
        # Execution field cannot be missed).
        self.id = execution_id
        self.task_id = task.id
        self.plugin_id = task.plugin_id
        self.task_name = task.name
        self.trigger_kind = kind
        self.scheduled_ts = scheduled_ts
        self.status = _PENDING
        self.attempt = self.missed = self.skipped = 0
        self.created_ts = created_ts
        self.abandoned = self.launched = self.in_handler = False
        self.started_ts = self.finished_ts = self.progress = self.progress_message = None
        self.output = self.error = self.traceback = self.event = self.reason = None
        self._metrics = self._logs = None
        self.task = task
        self.depth = depth  # how many scheduler events led here (chains are bounded)
        self.signal: AbortSignal | None = None
        self.aio_task: asyncio.Task[None] | None = None
        self.timer: tuple[int, int] | None = None  # timeout token
        self.ctx: contextvars.Context | None = None  # the handler runs in it
        self.cancel_reason: str | None = None  # set: the execution ends cancelled
        self.waiters: list[asyncio.Future[Execution]] | None = None  # made on first wait
        # Set by each attempt (read only once one started): the attempt is an async handler
        # on this loop; the scheduler cancelled its Task itself; a sync handler's thread.
        # (``launched``: admitted to a slot; ``in_handler``: an attempt's handler is running,
        # not pending, not retrying.)
        self.on_loop: bool
        self.engine_cancel: bool
        self.thread: asyncio.Future[Any] | None

    @property
    def execution(self) -> Execution:
        """The execution this run is (itself)."""
        return self

    def add_waiter(self, future: asyncio.Future[Execution]) -> None:
        """Resolve ``future`` with the execution once it is finished."""
        if self.waiters is None:
            self.waiters = [future]
        else:
            self.waiters.append(future)

    def __copy__(self) -> Execution:
        copied = Execution(**{f.name: getattr(self, f.name) for f in _FIELDS})
        copied._metrics, copied._logs = self._metrics, self._logs
        return copied


_FIELDS = [f for f in dataclasses.fields(Execution) if f.init]
