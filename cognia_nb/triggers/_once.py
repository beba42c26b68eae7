"""The once trigger: one instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .._errors import TaskValidationError
from ._base import Trigger, _require_aware, parse_instant

__all__ = ["ONCE_PAST_TOLERANCE", "OnceTrigger", "check_once_not_past"]

ONCE_PAST_TOLERANCE = timedelta(minutes=5)


class OnceTrigger(Trigger):
    """Fire once, at ``run_at`` (an aware datetime or an RFC 3339 string with an offset)."""

    kind = "once"
    __slots__ = ("_ts", "run_at")

    def __init__(self, run_at: datetime | str) -> None:
        self.run_at = parse_instant(run_at, "trigger.runAt")
        self._ts = self.run_at.timestamp()  # read at every firing; an aware timestamp() is slow

    def next_fire_time(self, after: datetime) -> datetime | None:
        """``run_at`` if it is strictly after ``after``, else None (spent)."""
        return self.run_at if self.run_at > _require_aware(after, "after") else None

    def next_fire_timestamp(self, ts: float) -> float | None:
        """``run_at`` as a timestamp if it is strictly after ``ts``."""
        at = self._ts
        return at if at > ts else None

    def to_dict(self) -> dict[str, Any]:
        return {"type": "once", "runAt": self.run_at.isoformat()}

    def describe(self) -> str:
        return f"Once at {self.run_at.isoformat(sep=' ', timespec='seconds')}"


def check_once_not_past(trigger: OnceTrigger, now: datetime | None = None) -> None:
    """Refuse a once trigger more than 5 minutes in the past (within 5 minutes fires at once).

    Raises:
        TaskValidationError: with ``field="trigger.runAt"``.
    """
    current = now if now is not None else datetime.now(UTC)
    if trigger.run_at < current - ONCE_PAST_TOLERANCE:
        raise TaskValidationError(
            f"trigger.runAt {trigger.run_at.isoformat()!r} is more than 5 minutes in the past "
            f"(now is {current.astimezone(UTC).isoformat(timespec='seconds')}); give a future "
            "time",
            field="trigger.runAt",
            value=trigger.run_at.isoformat(),
        )
