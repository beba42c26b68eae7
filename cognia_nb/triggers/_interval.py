"""The interval trigger: every ``seconds`` on UTC instants from an anchor."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from .._errors import TaskValidationError
from ._base import _EPOCH, Trigger, _micros, _require_aware, _ts_micros

__all__ = ["MAX_INTERVAL_SECONDS", "IntervalTrigger", "describe_seconds"]

MAX_INTERVAL_SECONDS = 31_622_400  # 366 days


def _check_seconds(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TaskValidationError(
            f"{field} must be a number of seconds (int or float), got "
            f"{type(value).__name__} {value!r}",
            field=field,
            value=value,
        )
    if not math.isfinite(value) or not 0 < value <= MAX_INTERVAL_SECONDS:
        raise TaskValidationError(
            f"{field} must be finite and 0 < seconds <= {MAX_INTERVAL_SECONDS} (366 days), "
            f"got {value!r}",
            field=field,
            value=value,
        )
    return value


def _plural(n: float, unit: str) -> str:
    return f"{n:g} {unit}" + ("" if n == 1 else "s")


def describe_seconds(seconds: float) -> str:
    """``300`` -> ``"5 minutes"``, ``90`` -> ``"90 seconds"``, ``86400`` -> ``"1 day"``."""
    for size, unit in ((86_400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            return _plural(seconds / size, unit)
    return _plural(seconds, "second")


class IntervalTrigger(Trigger):
    """Fire every ``seconds``, at ``anchor + k * seconds`` on UTC instants (DST never matters).

    Args:
        seconds: the period, ``0 < seconds <= 31_622_400`` (366 days).
        start_at: the anchor (aware). A scheduler anchors a task without one at its creation
            time and persists it, so a restart keeps the phase. Without an anchor,
            ``next_fire_time(after)`` is ``after + seconds``.
    """

    kind = "interval"
    __slots__ = ("_anchor_us", "_step_us", "seconds", "start_at")

    def __init__(self, seconds: float, start_at: datetime | None = None) -> None:
        self.seconds = _check_seconds(seconds, "trigger.seconds")
        if start_at is not None:
            if not isinstance(start_at, datetime):
                raise TaskValidationError(
                    f"trigger.startAt must be an aware datetime, got {start_at!r}",
                    field="trigger.startAt",
                    value=start_at,
                )
            _require_aware(start_at, "trigger.startAt")
        self.start_at = start_at
        self._step_us = max(1, round(self.seconds * 1_000_000))
        self._anchor_us = None if start_at is None else _micros(start_at)

    def anchored(self, anchor: datetime) -> IntervalTrigger:
        """This trigger with ``start_at`` set (unless it has one already)."""
        if self.start_at is not None:
            return self
        if not isinstance(anchor, datetime):
            return IntervalTrigger(self.seconds, anchor)  # refuses it, naming the field
        clone = IntervalTrigger.__new__(IntervalTrigger)  # seconds were checked by self
        clone.seconds, clone._step_us = self.seconds, self._step_us
        clone.start_at = _require_aware(anchor, "trigger.startAt")
        clone._anchor_us = _micros(anchor)
        return clone

    def next_fire_time(self, after: datetime) -> datetime | None:
        """The first ``start_at + k * seconds`` strictly after ``after``."""
        fire = self._next_us(_micros(_require_aware(after, "after")))
        tz = self.start_at.tzinfo if self.start_at is not None else after.tzinfo
        return (_EPOCH + timedelta(microseconds=fire)).astimezone(tz)

    def next_fire_timestamp(self, ts: float) -> float | None:
        """``anchor + k * seconds`` strictly after ``ts`` (UTC seconds)."""
        return self._next_us(_ts_micros(ts)) / 1_000_000

    def _next_us(self, after_us: int) -> int:
        """The first fire time strictly after ``after_us`` (integer microseconds)."""
        anchor = self._anchor_us
        if anchor is None:
            return after_us + self._step_us
        if after_us < anchor:
            return anchor
        return anchor + ((after_us - anchor) // self._step_us + 1) * self._step_us

    def count_between(self, start_ts: float, end_ts: float) -> int:
        """How many fire times lie in ``(start_ts, end_ts]`` (anchored triggers)."""
        if self._anchor_us is None or end_ts <= start_ts:
            return 0
        step, anchor = self._step_us, self._anchor_us

        def index(ts: float) -> int:  # number of fire times <= ts
            us = _ts_micros(ts)
            return 0 if us < anchor else (us - anchor) // step + 1

        return index(end_ts) - index(start_ts)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "interval", "seconds": self.seconds}
        if self.start_at is not None:
            out["startAt"] = self.start_at.isoformat()
        return out

    def describe(self) -> str:
        text = describe_seconds(self.seconds)
        return f"Every {text[2:]}" if text.startswith("1 ") else f"Every {text}"
