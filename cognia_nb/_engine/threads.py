"""Threads: calling the scheduler from other threads, and the pool sync handlers run in."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future as ThreadFuture
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["HandlerPool", "on_loop"]

P = ParamSpec("P")
R = TypeVar("R")


def on_loop(method: Callable[P, R]) -> Callable[P, R]:
    """Run a method on the scheduler's loop thread when called from another thread."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        self = args[0]
        loop = getattr(self, "_loop", None)
        if (
            loop is None
            or getattr(self, "_loop_thread", None) == threading.get_ident()
            or not loop.is_running()
        ):
            return method(*args, **kwargs)
        result: ThreadFuture[R] = ThreadFuture()

        def call() -> None:
            try:
                result.set_result(method(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                result.set_exception(exc)

        loop.call_soon_threadsafe(call)
        return result.result()

    return wrapper


class HandlerPool(ThreadPoolExecutor):
    """The thread pool of sync handlers; it grows by one for each abandoned handler thread.

    A thread cannot be killed: a sync handler that ignores its abort signal past the grace
    keeps its worker. So that such threads never eat the pool of everyone else, the pool's
    size is ``workers`` plus the abandoned threads still running (:meth:`grow` /
    :meth:`shrink`).
    """

    def __init__(self, workers: int, thread_name_prefix: str = "cognia_nb-handler") -> None:
        super().__init__(max_workers=workers, thread_name_prefix=thread_name_prefix)
        self.workers = workers

    def grow(self) -> None:
        """One more worker: a thread of the pool was abandoned (it still runs)."""
        with self._shutdown_lock:
            self._max_workers += 1
            if not self._shutdown and not self._work_queue.empty():  # work waits for a thread
                self._adjust_thread_count()

    def shrink(self) -> None:
        """An abandoned thread returned: the size goes back (idle threads stay, as always)."""
        with self._shutdown_lock:
            self._max_workers = max(self.workers, self._max_workers - 1)
