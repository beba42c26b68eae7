"""The live state of one execution while it is pending or running (a :class:`Run`).

The runner, the give-up rules and the firing side all hold runs; keeping the record in its own
module lets each of them import it without importing the others.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from .._model.task import Execution, Task
from .context import AbortSignal

__all__ = ["Run"]


class Run:
    """The live state of one execution while it is pending or running."""

    __slots__ = (
        "aio_task",
        "cancel_reason",
        "ctx",
        "depth",
        "engine_cancel",
        "execution",
        "in_handler",
        "launched",
        "on_loop",
        "signal",
        "task",
        "thread",
        "timer",
        "waiters",
    )

    def __init__(self, task: Task, execution: Execution, depth: int = 0) -> None:
        self.task = task
        self.execution = execution
        self.depth = depth  # how many scheduler events led here (chains are bounded)
        self.signal: AbortSignal | None = None
        self.aio_task: asyncio.Task[None] | None = None
        self.timer: tuple[int, int] | None = None  # timeout token
        self.ctx: contextvars.Context | None = None  # the handler runs in it
        self.cancel_reason: str | None = None  # set: the execution ends cancelled
        self.launched = False
        self.in_handler = False  # an attempt's handler is running (not pending, not retrying)
        # Set by each attempt (read only once one started): the attempt is an async handler
        # on this loop; the scheduler cancelled its Task itself; a sync handler's thread.
        self.on_loop: bool
        self.engine_cancel: bool
        self.thread: asyncio.Future[Any] | None
        self.waiters: list[asyncio.Future[Execution]] = []
