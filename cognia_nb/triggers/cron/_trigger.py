"""The cron trigger: a five-field expression matched in an IANA zone, with cronie's DST rules."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from ..._errors import TaskValidationError
from .._base import Trigger, _require_aware
from .._tz import (
    ALWAYS_AWARE,
    default_timezone,
    get_zone,
    timeline_for,
    validate_zone_key,
)
from ._grammar import parse_cron
from ._matcher import CronSchedule

__all__ = ["CronTrigger"]


@lru_cache(maxsize=1024)
def _schedule(expression: str, zone_key: str) -> CronSchedule:
    return CronSchedule(parse_cron(expression), timeline_for(zone_key))


@lru_cache(maxsize=1024)
def _describe_cron(expression: str) -> str:
    try:
        from cron_descriptor import get_description

        return str(get_description(expression))
    except Exception:  # noqa: BLE001 - the library is only decoration; never fail on it
        return f"cron {expression!r}"


class CronTrigger(Trigger):
    """Fire on a cron expression, matched against wall-clock time in ``timezone``.

    Args:
        expression: five fields (minute hour day-of-month month day-of-week) or an alias
            (``@hourly``, ``@daily``, ``@weekly``, ``@monthly``, ``@yearly``).
        timezone: an IANA zone name; ``None`` means the system zone (a scheduler substitutes
            its own default zone when a task is created).

    Raises:
        TaskValidationError: for an invalid expression or zone, naming the field and token.
    """

    kind = "cron"
    __slots__ = ("_schedule", "_zone", "expression", "timezone", "timezone_explicit")

    def __init__(self, expression: str, timezone: str | None = None) -> None:
        if not isinstance(expression, str):
            raise TaskValidationError(
                f"trigger.expression must be a string such as '0 9 * * *', got "
                f"{type(expression).__name__} {expression!r}",
                field="trigger.expression",
                value=expression,
            )
        self.timezone_explicit = timezone is not None
        zone = validate_zone_key(timezone) if timezone is not None else default_timezone()
        self._schedule = _schedule(expression, zone)
        self.expression = self._schedule.spec.expression
        self.timezone = zone
        self._zone = get_zone(zone)

    @property
    def wildcard(self) -> bool:
        """True for cronie's "wildcard" jobs (minute or hour starts with ``*``)."""
        return self._schedule.spec.wildcard

    def with_timezone(self, timezone: str) -> CronTrigger:
        """The same expression in another zone."""
        return CronTrigger(self.expression, timezone)

    def next_fire_time(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after``, in this trigger's zone."""
        if after.tzinfo.__class__ not in ALWAYS_AWARE:  # the check costs a utcoffset() call
            _require_aware(after, "after")
        return self._schedule.next_datetime(after, self._zone)

    def next_fire_timestamp(self, ts: float) -> float | None:
        """Like :meth:`next_fire_time`, on UTC timestamps (the scheduler's fast path)."""
        return self._schedule.next_after(ts)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "cron", "expression": self.expression, "timezone": self.timezone}

    def describe(self) -> str:
        return f"{_describe_cron(self._schedule.spec.canonical)} ({self.timezone})"
