"""The event trigger: fired by ``scheduler.emit(event_type, ...)``, never by the clock."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .._errors import TaskValidationError
from ._base import Trigger

__all__ = ["EventTrigger"]

_EVENT_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,128}\Z")


def _event_name(value: object, field: str) -> str:
    if not isinstance(value, str) or not _EVENT_NAME.match(value):
        raise TaskValidationError(
            f"{field} must be 1-128 characters of A-Z a-z 0-9 _ . : - (such as "
            f"'session:created'), got {value!r}",
            field=field,
            value=value,
        )
    return value


class EventTrigger(Trigger):
    """Fire when ``scheduler.emit(event_type, payload, source)`` matches.

    Args:
        event_type: the event name, 1-128 characters of ``A-Z a-z 0-9 _ . : -``.
        event_source: when set, only events from this source match.
    """

    kind = "event"
    __slots__ = ("event_source", "event_type")

    def __init__(self, event_type: str, event_source: str | None = None) -> None:
        self.event_type = _event_name(event_type, "trigger.eventType")
        self.event_source = (
            None if event_source is None else _event_name(event_source, "trigger.eventSource")
        )

    def matches(self, event_type: str, source: str | None) -> bool:
        """Whether an emitted event fires this trigger."""
        return event_type == self.event_type and (
            self.event_source is None or self.event_source == source
        )

    def next_fire_time(self, after: datetime) -> datetime | None:
        """Always None: events, not the clock, fire this trigger."""
        return None

    def next_fire_timestamp(self, ts: float) -> float | None:
        """Always None."""
        return None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "event", "eventType": self.event_type}
        if self.event_source is not None:
            out["eventSource"] = self.event_source
        return out

    def describe(self) -> str:
        src = f" from {self.event_source!r}" if self.event_source else ""
        return f"On event {self.event_type!r}{src}"
