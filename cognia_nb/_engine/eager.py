"""Resuming a coroutine that was started by hand.

The runner runs the first step of an async handler's coroutine synchronously (what Python
3.12's ``asyncio.eager_task_factory`` does): most light handlers (a no-op, a quick
computation, a dict lookup) never wait on anything and finish on the spot, without a Task, a
loop callback or a loop iteration. A coroutine that does suspend is handed to a Task that
awaits :class:`Resume`, which continues it exactly where it stopped.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any

__all__ = ["Resume"]


class Resume:
    """Awaitable that hands ``first`` (what the coroutine yielded) to the Task, then keeps
    driving the coroutine, forwarding values and exceptions (cancellation included)."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, value = self.coro, self.first
        self.first = None
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - forwarded into the coroutine
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value
