"""Eager start of a coroutine: run its first step now, make a Task only if it suspends.

Most executions of a light handler (a no-op, a quick computation, a dict lookup) never wait on
anything: starting them as ``asyncio.Task`` costs a task object, a loop callback and a loop
iteration each. Running the first step synchronously (what Python 3.12's
``asyncio.eager_task_factory`` does) finishes those on the spot; a coroutine that does suspend
is handed to a Task that resumes it exactly where it stopped.

One difference from a Task start: during that first step ``asyncio.current_task()`` is the
caller's task (or None), not a task of the execution's own.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine, Generator
from typing import Any

__all__ = ["start_eagerly"]


class _Resume:
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


async def _resume(coro: Coroutine[Any, Any, Any], first: Any) -> Any:
    return await _Resume(coro, first)


def start_eagerly(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, Any],
    context: contextvars.Context | None = None,
) -> asyncio.Task[Any] | None:
    """Run ``coro`` until it first suspends; return the Task that continues it, or None if it
    finished. Exceptions of the first step propagate to the caller."""
    ctx = context if context is not None else contextvars.copy_context()
    try:
        first = ctx.run(coro.send, None)
    except StopIteration:
        return None
    return loop.create_task(_resume(coro, first), context=ctx)
