"""Scheduler hooks: ``scheduler.on(name, fn)`` listeners, sync or async, never fatal."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

from ._errors import TaskValidationError

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
        """Call every listener of ``name`` (on the loop thread)."""
        for fn in tuple(self._listeners[name]):
            try:
                result = fn(*args)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._background.add(task)
                    task.add_done_callback(self._async_done)
            except Exception:
                log.exception("hook %s listener %r raised; the scheduler goes on", name, fn)

    def _async_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("async hook listener raised; the scheduler goes on", exc_info=exc)
