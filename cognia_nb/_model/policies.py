"""The per-task policy options a spec reads: ``max_consecutive_failures`` and the calendar.

What the engine does with them (skip an excluded due time, pause after N failures) lives in
:mod:`cognia_nb._engine.policies`.
"""

from __future__ import annotations

from typing import Any

from .._errors import TaskValidationError
from .calendar import Calendar, read_calendar

__all__ = ["MAX_FAILURES_LIMIT", "read_policies"]

MAX_FAILURES_LIMIT = 10_000


def read_policies(values: dict[str, Any]) -> tuple[int | None, Calendar | None]:
    """Read ``max_consecutive_failures`` and the calendar (``exclude``, ``windows``) of a spec."""
    n = values.get("max_consecutive_failures")
    if n is not None and (
        isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_FAILURES_LIMIT
    ):
        raise TaskValidationError(
            f"max_consecutive_failures must be an integer from 1 to {MAX_FAILURES_LIMIT} "
            f"(or None: never pause), got {n!r}",
            field="max_consecutive_failures",
            value=n,
        )
    return n, read_calendar(values.get("exclude"), values.get("windows"))
