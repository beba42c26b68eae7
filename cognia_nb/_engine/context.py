"""What a handler receives: :class:`TaskContext` and its :class:`AbortSignal`."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._errors import TaskAbortedError, TaskValidationError

if TYPE_CHECKING:
    from .clock import Clock

__all__ = ["AbortSignal", "Event", "TaskContext", "current_task_context"]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


#: The :class:`TaskContext` of the handler running in this context (None outside handlers).
#: Lets code deep inside a handler (or the notebook's output routing) find its execution.
current_task_context: contextvars.ContextVar[TaskContext | None] = contextvars.ContextVar(
    "cognia_nb_task_context", default=None
)


class AbortSignal:
    """The Python twin of the web's ``AbortSignal``: set when an execution is cancelled or
    times out. Safe to read from any thread.

    Check ``signal.aborted`` in loops, call ``signal.throw_if_aborted()``, or
    ``await signal.wait()`` (async) / ``signal.wait_sync(timeout)`` (threads).
    """

    __slots__ = ("_aborted", "_callbacks", "_event", "_future", "_reason")

    # Most executions never look at their signal: the thread Event, the loop future and the
    # callback list are only created when someone waits or listens.
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._aborted = False
        self._reason: str | None = None
        self._event: threading.Event | None = None
        self._future: asyncio.Future[str] | None = None
        self._callbacks: list[Callable[[str], None]] | None = None

    @property
    def aborted(self) -> bool:
        """True once the execution was cancelled or timed out."""
        return self._aborted

    @property
    def reason(self) -> str | None:
        """Why: ``"cancelled"``, ``"timeout"``, ``"replaced"``, ``"shutdown"`` (None until set)."""
        return self._reason

    def throw_if_aborted(self) -> None:
        """Raise :class:`~cognia_nb.TaskAbortedError` if the signal is set."""
        if self._aborted:
            raise TaskAbortedError(self._reason or "aborted")

    async def wait(self) -> str:
        """Wait until the signal is set; returns the reason."""
        if self._aborted:
            return self._reason or "aborted"
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
        return await asyncio.shield(self._future)

    def wait_sync(self, timeout: float | None = None) -> bool:
        """Block (in a thread) until the signal is set or ``timeout`` passes; True if set."""
        with self._lock:
            if self._aborted:
                return True
            if self._event is None:
                self._event = threading.Event()
            event = self._event
        return event.wait(timeout)

    def as_future(self) -> asyncio.Future[str]:
        """A future on the running loop that gets the reason when the signal is set (at once if
        it is); cancel it when no longer needed."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def resolve(reason: str) -> None:
            if not future.done():
                future.set_result(reason)

        self.add_callback(resolve)
        return future

    def add_callback(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(reason)`` on the loop when the signal is set (at once if it is)."""
        if self._aborted:
            callback(self._reason or "aborted")
        elif self._callbacks is None:
            self._callbacks = [callback]
        else:
            self._callbacks.append(callback)

    def _abort(self, reason: str) -> bool:
        """Set the signal (loop thread only). Returns False if it was already set."""
        with self._lock:
            if self._aborted:
                return False
            self._reason = reason
            self._aborted = True
            if self._event is not None:
                self._event.set()
        if self._future is not None and not self._future.done():
            self._future.set_result(reason)
        callbacks, self._callbacks = self._callbacks, None
        for callback in callbacks or ():
            callback(reason)
        return True

    def __repr__(self) -> str:
        return f"<AbortSignal aborted={self.aborted} reason={self._reason!r}>"


@dataclass(frozen=True, slots=True)
class Event:
    """An emitted event, as an event-triggered handler sees it in ``context.event``."""

    type: str
    payload: Any
    source: str
    emitted_at: datetime


class _Sink:
    """Where a context sends progress and logs (implemented by the scheduler)."""

    def progress(self, execution_id: str, percent: float, message: str | None) -> None:
        raise NotImplementedError

    def log(self, execution_id: str, level: str, message: str, fields: dict[str, Any]) -> None:
        raise NotImplementedError


class SealedSink(_Sink):
    """Forwards to another sink through closures, so a handler that reads ``context._sink``
    finds two functions, not the scheduler behind them (a plugin's handler must not reach
    other plugins' tasks that way)."""

    __slots__ = ("_log", "_progress")

    def __init__(self, inner: _Sink) -> None:
        def progress(execution_id: str, percent: float, message: str | None) -> None:
            inner.progress(execution_id, percent, message)

        def log(execution_id: str, level: str, message: str, fields: dict[str, Any]) -> None:
            inner.log(execution_id, level, message, fields)

        self._progress = progress
        self._log = log

    def progress(self, execution_id: str, percent: float, message: str | None) -> None:
        self._progress(execution_id, percent, message)

    def log(self, execution_id: str, level: str, message: str, fields: dict[str, Any]) -> None:
        self._log(execution_id, level, message, fields)


class TaskContext:
    """Everything a handler gets about the run it is in.

    Attributes:
        task_id, execution_id, plugin_id, task_name: who is running.
        scheduled_at: the fire time this execution stands for (UTC).
        started_at: when this attempt started (UTC).
        attempt_number: 1 for the first attempt, 2 for the first retry, ...
        signal: the :class:`AbortSignal` (cancel and timeout set it).
        args: the task's ``args``.
        event: the :class:`Event` for event-triggered runs, else None.
    """

    __slots__ = (
        "_clock",
        "_scheduled_ts",
        "_sink",
        "_started_ts",
        "args",
        "attempt_number",
        "event",
        "execution_id",
        "plugin_id",
        "signal",
        "task_id",
        "task_name",
    )

    def __init__(  # noqa: PLR0917 - positional for the runner, by keyword for everyone else
        self,
        task_id: str,
        execution_id: str,
        plugin_id: str,
        task_name: str,
        scheduled_ts: float,
        started_ts: float,
        attempt_number: int,
        signal: AbortSignal,
        args: Any,
        event: Event | None,
        sink: _Sink,
        clock: Clock,
    ) -> None:
        self.task_id = task_id
        self.execution_id = execution_id
        self.plugin_id = plugin_id
        self.task_name = task_name
        self._scheduled_ts = scheduled_ts
        self._started_ts = started_ts
        self.attempt_number = attempt_number
        self.signal = signal
        self.args = args
        self.event = event
        self._sink = sink
        self._clock = clock

    @property
    def scheduled_at(self) -> datetime:
        """The fire time this execution stands for (UTC)."""
        return datetime.fromtimestamp(self._scheduled_ts, UTC)

    @property
    def started_at(self) -> datetime:
        """When this attempt started (UTC)."""
        return datetime.fromtimestamp(self._started_ts, UTC)

    @property
    def logger(self) -> logging.Logger:
        """``logging.getLogger("cognia_nb.tasks.<task name>")``."""
        return logging.getLogger(f"cognia_nb.tasks.{self.task_name}")

    def report_progress(self, percent: float, message: str | None = None) -> None:
        """Report progress, 0-100, with an optional message. Safe from any thread.

        Raises:
            TaskValidationError: if ``percent`` is not a number from 0 to 100, or ``message``
                is neither a string nor None (the handler then fails, like any exception).
        """
        if message is not None and not isinstance(message, str):
            raise TaskValidationError(
                f"report_progress message must be a string or None, got "
                f"{type(message).__name__} {message!r:.80}",
                field="message",
                value=message,
            )
        if (
            isinstance(percent, bool)
            or not isinstance(percent, int | float)
            or not math.isfinite(percent)
            or not 0 <= percent <= 100
        ):
            raise TaskValidationError(
                f"report_progress percent must be a number from 0 to 100, got {percent!r}",
                field="percent",
                value=percent,
            )
        self._sink.progress(self.execution_id, float(percent), message)

    def log(self, level: str | int, message: str, **fields: Any) -> None:
        """Log a line on the execution (bounded) and to ``self.logger``. Safe from any thread.

        Args:
            level: ``"debug" | "info" | "warning" | "error" | "critical"`` or a logging level.
            message: the text.
            **fields: structured fields kept with the line.
        """
        if isinstance(level, int):
            name = logging.getLevelName(level).lower()
            number = level
        else:
            name = str(level).lower()
            if name not in _LEVELS:
                raise TaskValidationError(
                    f"log level must be one of {', '.join(_LEVELS)}, got {level!r}",
                    field="level",
                    value=level,
                )
            number = _LEVELS[name]
        text = str(message)
        self.logger.log(number, text, extra={"cognia": {"execution_id": self.execution_id}})
        self._sink.log(self.execution_id, name, text, fields)

    async def sleep(self, seconds: float) -> None:
        """Sleep on the scheduler's clock; raises :class:`TaskAbortedError` if aborted meanwhile."""
        self.signal.throw_if_aborted()
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waiter = asyncio.ensure_future(self.signal.wait())
        try:
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waiter.cancel()
        self.signal.throw_if_aborted()

    def __repr__(self) -> str:
        return (
            f"<TaskContext task={self.task_name!r} execution={self.execution_id} "
            f"attempt={self.attempt_number}>"
        )
