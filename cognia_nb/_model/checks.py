"""Checks shared by the public entry points: unknown keywords, ``Scheduler(...)`` options, and
showing a refused value in a message."""

from __future__ import annotations

import difflib
import functools
import inspect
import math
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from .._errors import TaskValidationError, UnknownArgumentError

__all__ = ["MAX_NUMBER", "check_scheduler_options", "checked_keywords", "shown", "unknown_argument"]

P = ParamSpec("P")
R = TypeVar("R")

#: Numbers in a trigger or retry policy beyond this are refused before anything converts them
#: to float (``10**400`` would raise OverflowError there).
MAX_NUMBER = 10**15


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` for a message, shortened: a 400-digit integer is not read by anyone."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        try:
            return f"an integer of {len(str(abs(value)))} digits"
        except ValueError:  # more digits than Python converts to text (sys.int_info)
            return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]}"


def check_scheduler_options(
    max_concurrency: object, sync_workers: object, cancel_grace: object, slice_size: object
) -> None:
    """Refuse a ``Scheduler(...)`` option that would make it misbehave later."""
    for name, value, limit in (("max_concurrency", max_concurrency, None),
                               ("sync_workers", sync_workers, 1024),
                               ("slice_size", slice_size, 1_000_000)):  # fmt: skip
        if value is None and name != "slice_size":
            continue
        if (isinstance(value, bool) or not isinstance(value, int) or value < 1
                or (limit is not None and value > limit)):  # fmt: skip
            bound = f"from 1 to {limit}" if limit else "of at least 1"
            none = " or None" if name != "slice_size" else ""
            raise TaskValidationError(
                f"{name} must be an integer {bound}{none}, got {shown(value)}",
                field=name, value=value,
            )  # fmt: skip
    if (isinstance(cancel_grace, bool) or not isinstance(cancel_grace, int | float)
            or not 0 <= cancel_grace <= 3600 or math.isnan(cancel_grace)):  # fmt: skip
        raise TaskValidationError(
            f"cancel_grace must be a number of seconds from 0 to 3600, got {shown(cancel_grace)}",
            field="cancel_grace", value=cancel_grace,
        )  # fmt: skip


def checked_keywords(method: Callable[P, R]) -> Callable[P, R]:
    """Turn an unknown keyword argument into an :class:`UnknownArgumentError` (a
    ``TaskValidationError`` and a ``TypeError``) that names it and lists the accepted ones."""
    params = inspect.signature(method).parameters.values()
    accepted = tuple(p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
                     and p.name != "self")  # fmt: skip
    allowed = frozenset(accepted)
    where = method.__qualname__.replace("Scheduler.", "")

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not allowed.issuperset(kwargs):  # one set operation when all are known
            for key in kwargs:
                if key not in allowed:
                    raise unknown_argument(where, key, accepted)
        return method(*args, **kwargs)

    return wrapper


def unknown_argument(where: str, key: str, accepted: tuple[str, ...]) -> UnknownArgumentError:
    """The error for ``where(key=...)`` when ``key`` is not among ``accepted``."""
    close = difflib.get_close_matches(key, accepted, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return UnknownArgumentError(
        f"{where}() got an unknown keyword argument {key!r}{hint}; it accepts: "
        f"{', '.join(accepted)}",
        field=key,
        value=key,
    )
