"""Calling the scheduler from other threads."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future as ThreadFuture
from typing import ParamSpec, TypeVar

__all__ = ["on_loop"]

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
