"""Scheduler hooks: ``scheduler.on(name, fn)`` listeners, sync or async, never fatal.

A listener is user code called from the engine: whatever it raises, ``SystemExit``,
``KeyboardInterrupt`` and ``GeneratorExit`` included, is logged as a hook failure and the loop
goes on. The one exception let through is the cancellation of an async listener's own task
(the engine cancelling it), which ends that listener quietly.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

from .._errors import TaskValidationError

__all__ = ["HOOK_NAMES", "HookRegistry"]

log = logging.getLogger("cognia_nb.hooks")

HOOK_NAMES = (
    "task_start",  # (task, execution)
    "task_complete",  # (task, execution, result)
    "task_error",  # (task, execution, error: str)
    "task_create",  # (task,)
    "task_update",  # (task,)
    "task_delete",  # (task,)
    "task_pause",  # (task,)
    "task_resume",  # (task,)
    "task_progress",  # (task, execution) - progress or a log line changed
)


class HookRegistry:
    """Listeners per hook name. A listener that raises is logged and the others still run."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[..., Any]]] = {name: [] for name in HOOK_NAMES}
        self._background: set[asyncio.Task[Any]] = set()
        #: Whether any hook has a listener (checked before building a hook's arguments).
        self.active = False

    def add(self, name: str, fn: Callable[..., Any]) -> Callable[[], None]:
        """Register ``fn`` for ``name``; returns a function that removes it."""
        if name not in self._listeners:
            raise TaskValidationError(
                f"unknown hook {name!r}; hooks are: {', '.join(HOOK_NAMES)}",
                field="hook",
                value=name,
            )
        if not callable(fn):
            raise TaskValidationError(
                f"hook {name!r} needs a callable, got {fn!r}", field="hook", value=fn
            )
        listeners = self._listeners[name]
        listeners.append(fn)
        self.active = True

        def remove() -> None:
            if fn in listeners:
                listeners.remove(fn)
            self.active = any(self._listeners.values())

        return remove

    def has(self, name: str) -> bool:
        """Whether anyone listens to ``name``."""
        return bool(self._listeners[name])

    def fire(self, name: str, *args: Any) -> None:
        """Call every listener of ``name`` (on the loop thread); none of them can raise out."""
        for fn in tuple(self._listeners[name]):
            try:
                result = fn(*args)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(_contained(name, fn, result))
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)
            except BaseException:  # user code at the boundary: logged, not fatal
                # Even SystemExit/KeyboardInterrupt: a hook's own raise must not stop the loop
                # (a sync listener cannot see the engine's cancellation: it never awaits).
                log.exception("hook %s listener %r raised; the scheduler goes on", name, fn)


async def _contained(name: str, fn: Callable[..., Any], awaitable: Any) -> None:
    """Await an async listener; what it raises is logged (asyncio would re-raise ``SystemExit``
    and ``KeyboardInterrupt`` out of the loop). Its task's cancellation propagates."""
    try:
        await awaitable
    except asyncio.CancelledError:
        raise
    except BaseException:  # user code at the boundary: logged, not fatal
        log.exception("async hook %s listener %r raised; the scheduler goes on", name, fn)
