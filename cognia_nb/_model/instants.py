"""The range of instants a task may hold: what every later step (timestamps, ``to_dict()``,
the display in any time zone, the CLI) can represent.

From 1970-01-01T00:00:00Z to 9999-12-30T00:00:00Z (UTC; the end leaves a day for time zones
ahead of UTC). An instant outside it is refused at ``create_task`` with a
:class:`~cognia_nb.TaskValidationError` naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .._errors import TaskValidationError
from ..triggers import IntervalTrigger, OnceTrigger, Trigger

__all__ = ["FIRST_INSTANT", "LAST_INSTANT", "check_instant", "check_trigger_instants"]

FIRST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LAST_INSTANT = datetime(9999, 12, 30, tzinfo=UTC)
_FIRST_TS, _LAST_TS = FIRST_INSTANT.timestamp(), LAST_INSTANT.timestamp()
_RANGE = "from 1970-01-01T00:00:00Z to 9999-12-30T00:00:00Z (UTC)"


def check_instant(value: datetime, field: str) -> datetime:
    """``value`` if it lies in the range (returned), else a clear error.

    Raises:
        TaskValidationError: naming ``field``, the value and the range.
    """
    ts = value.timestamp()
    if not _FIRST_TS <= ts < _LAST_TS:
        raise TaskValidationError(
            f"{field} must be an instant {_RANGE}, got {value.isoformat()}",
            field=field,
            value=value,
        )
    return value


def check_trigger_instants(trigger: Trigger) -> Trigger:
    """Refuse a trigger whose instants leave the range (an interval is at most 366 days, so
    its fire times stay representable until the range's end).

    Raises:
        TaskValidationError: naming the trigger's field.
    """
    if isinstance(trigger, OnceTrigger):
        check_instant(trigger.run_at, "trigger.runAt")
    elif isinstance(trigger, IntervalTrigger) and trigger.start_at is not None:
        check_instant(trigger.start_at, "trigger.startAt")
    return trigger
