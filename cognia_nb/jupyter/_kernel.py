"""Wiring the scheduler into a running kernel.

* ``print`` inside a handler: the stream proxies copy it into the running execution's log
  (the handler's :data:`~cognia_nb._engine.context.current_task_context` says which). For a task
  with a live card (:data:`routed_tasks`) that is all: the card shows the latest run's output,
  so the defining cell never grows. Other output passes on to the kernel's stream, which
  routes it to the cell that defined the task (handlers run in a copy of that cell's
  contextvars context).
* Shutdown and restart: ``kernel.do_shutdown`` is wrapped to stop the scheduler on its loop
  (cancel running executions, flush the store) within 2 s; ``atexit`` flushes whatever is left.
* After each cell the scheduler emits ``cell:executed`` (source ``kernel``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import inspect
import logging
import sys
import threading
import typing
from typing import Any, TextIO

from .._engine.context import current_task_context
from .._engine.scheduler import Scheduler

__all__ = [
    "ExecutionStream",
    "ensure_streams",
    "install",
    "last_redraw",
    "pending_output",
    "routed_tasks",
    "uninstall",
]

log = logging.getLogger("cognia_nb.jupyter")
SHUTDOWN_BUDGET = 2.0
#: Ids of tasks whose handler output goes to their live card (and log) only.
routed_tasks: set[str] = set()


class ExecutionStream:
    """A ``sys.stdout``/``sys.stderr`` proxy that copies handler output into execution logs."""

    def __init__(self, wrapped: TextIO, name: str) -> None:
        self._wrapped = wrapped
        self._name = name
        self._partial: dict[str, str] = {}
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        context = current_task_context.get()
        if context is not None and text:
            self._capture(context, text)
            if context.task_id in routed_tasks:
                return len(text)
        return self._wrapped.write(text)

    def _capture(self, context: Any, text: str) -> None:
        key = context.execution_id
        with self._lock:
            pending = self._partial.pop(key, "") + text
            *lines, rest = pending.split("\n")
            if rest:
                self._partial[key] = rest[-10_000:]
        for line in lines:
            context._sink.log(key, self._name, line, {})

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


def pending_output(execution_id: str) -> str:
    """What an execution's handler wrote after its last newline (a line redrawn with ``\\r``,
    like a progress bar's, as it stands now)."""
    parts = []
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, ExecutionStream):
            with stream._lock:
                text = stream._partial.get(execution_id, "")
            text = last_redraw(text)
            if text.strip():
                parts.append(text)
    return " ".join(parts)


def last_redraw(text: str) -> str:
    """The text after the last carriage return that is followed by something."""
    return text.rstrip("\r").rsplit("\r", 1)[-1]


class _State:
    scheduler: Scheduler | None = None
    original_shutdown: Any = None
    kernel: Any = None
    callbacks: typing.ClassVar[list[tuple[str, Any]]] = []
    atexit_registered = False


def _stop_from_control_thread(scheduler: Scheduler) -> None:
    """Stop the scheduler on its own loop, waiting at most ``SHUTDOWN_BUDGET`` seconds."""
    loop = scheduler._loop
    if loop is not None and loop.is_running() and threading.get_ident() != scheduler._loop_thread:
        # grace=0: running handlers are cancelled at once and get cancel_grace to end
        future = asyncio.run_coroutine_threadsafe(scheduler.stop(grace=0), loop)
        try:
            future.result(SHUTDOWN_BUDGET)
        except Exception:  # noqa: BLE001 - a blocked loop: fall back to what a thread can do
            log.warning("cognia_nb: the kernel loop did not stop the scheduler in %.0f s; "
                        "flushing the store only", SHUTDOWN_BUDGET)  # fmt: skip
    else:
        scheduler.stop_nowait()
    scheduler.close()


def _wrap_shutdown(kernel: Any, scheduler: Scheduler) -> None:
    original = kernel.do_shutdown
    _State.original_shutdown = original

    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def wrapped_async(restart: bool) -> Any:
            await asyncio.to_thread(_stop_from_control_thread, scheduler)
            return await original(restart)

        kernel.do_shutdown = wrapped_async
    else:

        @functools.wraps(original)
        def wrapped(restart: bool) -> Any:
            _stop_from_control_thread(scheduler)
            return original(restart)

        kernel.do_shutdown = wrapped


def _at_exit() -> None:
    # The loop is gone: flush what is queued. Executions still marked running become
    # "interrupted" when the store is next opened.
    scheduler = _State.scheduler
    if scheduler is not None:
        try:
            scheduler.close()
        except Exception:
            log.exception("cognia_nb: flushing the store at exit failed")


def ensure_streams() -> None:
    """Put the stream proxies in place (again, if something replaced ``sys.stdout``)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, ExecutionStream):
            setattr(sys, name, ExecutionStream(stream, name))


def install(shell: Any, scheduler: Scheduler) -> None:
    """Hook the scheduler into the kernel (idempotent)."""
    _State.scheduler = scheduler
    ensure_streams()
    if not _State.callbacks:

        def after_cell(result: Any) -> None:
            current = _State.scheduler
            if current is None or not current.running:
                return
            info = getattr(result, "info", None)
            payload = {
                "executionCount": getattr(result, "execution_count", None),
                "success": bool(getattr(result, "success", True)),
                "cell": getattr(info, "raw_cell", None),
            }
            try:
                current.emit("cell:executed", payload, source="kernel")
            except Exception:
                log.exception("cognia_nb: emitting cell:executed failed")

        shell.events.register("post_run_cell", after_cell)
        _State.callbacks.append(("post_run_cell", after_cell))
    kernel = getattr(shell, "kernel", None)
    if kernel is not None and _State.kernel is None:
        _State.kernel = kernel
        _wrap_shutdown(kernel, scheduler)
    if not _State.atexit_registered:
        atexit.register(_at_exit)
        _State.atexit_registered = True


def uninstall(shell: Any) -> None:
    """Undo :func:`install`."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, ExecutionStream):
            setattr(sys, name, stream._wrapped)
    for event, callback in _State.callbacks:
        with contextlib.suppress(ValueError):
            shell.events.unregister(event, callback)
    _State.callbacks = []
    if _State.kernel is not None and _State.original_shutdown is not None:
        _State.kernel.do_shutdown = _State.original_shutdown
    _State.kernel = _State.original_shutdown = None
    _State.scheduler = None
    routed_tasks.clear()  # the cards of this scheduler are gone with it
