"""What runs inside a Dask worker: a context that reports back through worker events, a signal
set by ``client.run(cancel_remote, key)``, and the timeout, enforced there.

This module must import nothing heavy: workers import it to unpickle the task.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from typing import Any

__all__ = ["RemoteAbort", "RemoteContext", "cancel_remote", "run_async_remote", "run_sync_remote"]

# key -> the signal of an attempt running in this worker process (and its asyncio task)
_SIGNALS: dict[str, RemoteSignal] = {}
_TASKS: dict[str, asyncio.Task[Any]] = {}


class RemoteAbort(Exception):
    """The attempt stopped on the worker because its signal was set (timeout, cancel)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RemoteSignal:
    """The worker-side twin of ``AbortSignal``: ``aborted``, ``reason``,
    ``throw_if_aborted()``, ``wait_sync(timeout)``, ``await wait()``."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    @property
    def aborted(self) -> bool:
        return self._event.is_set()

    def abort(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def throw_if_aborted(self) -> None:
        if self._event.is_set():
            from cognia_nb._errors import TaskAbortedError

            raise TaskAbortedError(self.reason or "aborted")

    def wait_sync(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    async def wait(self) -> str:
        while not self._event.is_set():
            await asyncio.sleep(0.01)
        return self.reason or "aborted"


class RemoteContext:
    """``TaskContext`` on a worker: the same fields; progress and logs are sent back."""

    def __init__(self, meta: dict[str, Any], signal: RemoteSignal) -> None:
        from distributed import get_worker

        self._worker = get_worker()
        self._topic = meta["topic"]
        self.task_id = meta["task_id"]
        self.execution_id = meta["execution_id"]
        self.plugin_id = meta["plugin_id"]
        self.task_name = meta["task_name"]
        self.scheduled_at = datetime.fromtimestamp(meta["scheduled_ts"], UTC)
        self.started_at = datetime.fromtimestamp(meta["started_ts"], UTC)
        self.attempt_number = meta["attempt_number"]
        self.args = meta["args"]
        self.event = None
        self.signal = signal
        self.logger = logging.getLogger(f"cognia_nb.tasks.{self.task_name}")

    def report_progress(self, percent: float, message: str | None = None) -> None:
        if not 0 <= float(percent) <= 100:
            raise ValueError(f"report_progress percent must be from 0 to 100, got {percent!r}")
        self._worker.log_event(self._topic, {"kind": "progress", "percent": float(percent),
                                             "message": message})  # fmt: skip

    def log(self, level: str, message: str, **fields: Any) -> None:
        self._worker.log_event(
            self._topic, {"kind": "log", "level": level, "message": str(message), "fields": fields}
        )

    async def sleep(self, seconds: float) -> None:
        self.signal.throw_if_aborted()
        try:
            await asyncio.wait_for(self.signal.wait(), seconds)
        except TimeoutError:
            return
        self.signal.throw_if_aborted()


def _call(fn: Any, arity: int, context: RemoteContext) -> Any:
    if arity == 2:
        return fn(context.args, context)
    if arity == 1:
        return fn(context)
    return fn()


def run_sync_remote(fn: Any, arity: int, meta: dict[str, Any]) -> Any:
    """A sync handler in a worker thread; the timeout sets its signal."""
    signal = _SIGNALS[meta["key"]] = RemoteSignal()
    timer = None
    if meta["timeout"] is not None:
        timer = threading.Timer(meta["timeout"], signal.abort, args=("timeout",))
        timer.daemon = True
        timer.start()
    try:
        value = _call(fn, arity, RemoteContext(meta, signal))
    finally:
        if timer is not None:
            timer.cancel()
        _SIGNALS.pop(meta["key"], None)
    if signal.aborted:  # it stopped because of its signal: not a success
        raise RemoteAbort(signal.reason or "aborted")
    return value


async def run_async_remote(fn: Any, arity: int, meta: dict[str, Any]) -> Any:
    """An async handler on the worker's loop; timeout and cancel cancel its task."""
    key = meta["key"]
    signal = _SIGNALS[key] = RemoteSignal()
    task = asyncio.ensure_future(_call(fn, arity, RemoteContext(meta, signal)))
    _TASKS[key] = task
    try:
        return await asyncio.wait_for(task, meta["timeout"])
    except TimeoutError:
        signal.abort("timeout")
        raise RemoteAbort("timeout") from None
    finally:
        _TASKS.pop(key, None)
        _SIGNALS.pop(key, None)


def cancel_remote(key: str, reason: str = "cancelled") -> bool:
    """Run on every worker by ``client.run``: abort the attempt ``key`` if it runs here."""
    signal = _SIGNALS.get(key)
    if signal is None:
        return False
    signal.abort(reason)
    task = _TASKS.get(key)
    if task is not None:
        loop = task.get_loop()
        loop.call_soon_threadsafe(task.cancel)
    return True
