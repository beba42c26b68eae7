"""Handlers: the functions tasks run, bound by name."""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from typing import Any

from .._errors import TaskValidationError
from .context import TaskContext

__all__ = ["Handler"]


def _is_async(fn: Callable[..., Any]) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return call is not None and inspect.iscoroutinefunction(call)


def _arity(fn: Callable[..., Any]) -> int:
    """How many positional arguments the handler takes: 0, 1 (context) or 2 (args, context)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    count = 0
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            return 2
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return min(count, 2)


class Handler:
    """A registered handler: ``fn(context)``, ``fn(args, context)`` or ``fn()``, sync or async."""

    __slots__ = ("arity", "call", "context", "fn", "is_async", "name", "plugin_id")

    def __init__(
        self,
        plugin_id: str,
        name: str,
        fn: Callable[..., Any],
        context: contextvars.Context | None = None,
    ) -> None:
        if not callable(fn):
            raise TaskValidationError(
                f"handler {name!r} must be callable, got {type(fn).__name__} {fn!r}",
                field="handler",
                value=fn,
            )
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise TaskValidationError(
                f"handler {name!r} is a generator function; use 'return', not 'yield'",
                field="handler",
                value=fn,
            )
        self.plugin_id = plugin_id
        self.name = name
        self.fn = fn
        self.is_async = _is_async(fn)
        self.arity = _arity(fn)
        self.context = context
        #: ``call(context)`` calls the handler with the arguments its signature asks for (for
        #: the common ``fn(context)`` it is ``fn`` itself: no wrapper frame per execution).
        self.call: Callable[[TaskContext], Any]
        if self.arity == 2:
            self.call = lambda context: fn(context.args, context)
        elif self.arity == 1:
            self.call = fn
        else:
            self.call = lambda context: fn()

    def __repr__(self) -> str:
        kind = "async" if self.is_async else "sync"
        return f"<Handler {self.plugin_id}/{self.name} {kind}>"
