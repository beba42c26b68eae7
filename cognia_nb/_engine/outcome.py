"""What one attempt came to: a handler's value, its exception, or the abort that ended it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import traceback
from dataclasses import dataclass
from typing import Any

from .._errors import TaskAbortedError
from .._model.task import TaskResult
from .context import AbortSignal

__all__ = [
    "NONE_SUCCEEDED",
    "Outcome",
    "Raised",
    "aborted_outcome",
    "error_outcome",
    "value_outcome",
]


@dataclass(slots=True)
class Outcome:
    """One attempt's result (``result`` set) or failure (``error`` set)."""

    result: TaskResult | None = None
    error: str | None = None
    trace: str | None = None
    aborted: str | None = None  # the signal's reason


class Raised(Exception):
    """Carries what a sync handler raised out of its thread when a Future cannot hold it
    (``StopIteration``: asyncio refuses to set it on a Future)."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(repr(exc))
        self.exc = exc


# A handler returning None (the common case) succeeds with nothing to record; one shared
# result serves them all (nothing mutates a finished attempt's result).
NONE_SUCCEEDED = Outcome(result=TaskResult())


def aborted_outcome(signal: AbortSignal, timeout: float | None) -> Outcome:
    """The outcome of an attempt its signal ended (cancel, replace, shutdown or timeout)."""
    reason = signal.reason or "aborted"
    if reason == "timeout":
        return Outcome(error=f"timed out after {timeout:g} s", aborted=reason)
    return Outcome(error=f"execution {reason}", aborted=reason)


def value_outcome(value: Any, signal: AbortSignal, timeout: float | None) -> Outcome:
    """The outcome of an attempt whose handler returned ``value``."""
    if signal._aborted:
        return aborted_outcome(signal, timeout)
    if value is None:
        return NONE_SUCCEEDED
    result = TaskResult.from_value(value)
    if not result.success:
        return Outcome(result=result, error=result.error or "handler reported success=False")
    return Outcome(result=result)


def error_outcome(exc: BaseException, signal: AbortSignal, timeout: float | None) -> Outcome:
    """The outcome of an attempt whose handler (or executor) raised ``exc``.

    A failing handler is data: the error text and the traceback are kept on the execution.
    ``exc`` may be any ``BaseException`` (``SystemExit(0)`` reads "SystemExit: 0").
    """
    if isinstance(exc, Raised) and isinstance(exc.exc, BaseException):
        exc = exc.exc
    if isinstance(exc, TaskAbortedError):
        if signal.aborted or exc.reason == "timeout":  # an executor's own timeout too
            signal._abort(exc.reason)
            return aborted_outcome(signal, timeout)
        return Outcome(error=f"TaskAbortedError: {exc}", trace=_trace(exc))
    if signal.aborted:
        return aborted_outcome(signal, timeout)
    name = type(exc).__name__
    try:
        text = str(exc)
    except Exception as bad:  # noqa: BLE001 - a handler's exception may not even print
        text = f"<str() raised {type(bad).__name__}>"
    return Outcome(error=f"{name}: {text}" if text else name, trace=_trace(exc))


# Where the engine's own frames live: this package (runner, handler wrappers, give-up), the
# thread pool a sync handler runs in, and asyncio (a coroutine handler's task).
_ENGINE = tuple(
    os.path.dirname(os.path.abspath(path)) + os.sep
    for path in (os.path.dirname(__file__), concurrent.futures.__file__, asyncio.__file__)
)  # the first: the cognia_nb package (the engine's parent), as before the engine had a folder


def _trace(exc: BaseException) -> str | None:
    """``exc`` formatted like ``traceback.format_exception``, minus the engine's frames at the
    start of each traceback in the chain, so it starts at the handler (see :func:`_trim`)."""
    try:
        report = traceback.TracebackException.from_exception(exc, compact=True)
        _trim(report)
        return "".join(report.format())
    except Exception:  # noqa: BLE001 - never let a strange exception break the engine
        return None


def _trim(report: traceback.TracebackException) -> None:
    """Drop the leading engine frames of ``report`` and of every exception in its chain
    (causes, contexts, group members); a traceback made only of engine frames (an engine
    error) is kept whole."""
    todo, seen = [report], set()
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        stack = item.stack
        first = next((i for i, f in enumerate(stack) if not f.filename.startswith(_ENGINE)), 0)
        del stack[:first]
        todo.extend(x for x in (item.__cause__, item.__context__) if x is not None)
        todo.extend(getattr(item, "exceptions", None) or ())
