"""The trigger base class, and the instants triggers read (RFC 3339 with an offset)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from .._errors import TaskValidationError

__all__ = ["Trigger", "parse_instant"]

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|z|[+-]\d{2}:\d{2})\Z"
)


def _require_aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise TaskValidationError(
            f"{field} {value.isoformat()!r} has no UTC offset; give an aware datetime "
            "(for example datetime(..., tzinfo=ZoneInfo('Europe/Berlin')))",
            field=field,
            value=value,
        )
    return value


class Trigger:
    """Base class of the four triggers. Triggers are immutable values: tasks share them.

    (A plain class, not an ``ABC``: the scheduler asks ``isinstance`` of triggers often, and
    an ABC makes every such check a Python-level call.)
    """

    kind: ClassVar[str]

    def next_fire_time(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after`` (aware), or None if there is none."""
        raise NotImplementedError

    def next_fire_timestamp(self, ts: float) -> float | None:
        """Like :meth:`next_fire_time`, on UTC POSIX timestamps (the scheduler's fast path)."""
        nxt = self.next_fire_time(datetime.fromtimestamp(ts, UTC))
        return None if nxt is None else nxt.timestamp()

    def to_dict(self) -> dict[str, Any]:
        """The seed's camelCase dict for this trigger; ``parse_trigger`` reads it back."""
        raise NotImplementedError

    def describe(self) -> str:
        """A human sentence, such as ``"At 09:00 AM, Monday through Friday (Europe/Berlin)"``."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Trigger)
            and type(other) is type(self)
            and (other.to_dict() == self.to_dict())
        )

    def __hash__(self) -> int:
        return hash(repr(sorted(self.to_dict().items())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type")
        return f"{type(self).__name__}({args})"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_ONE_MICROSECOND = timedelta(microseconds=1)  # built once: every interval task reads it


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // _ONE_MICROSECOND


def _ts_micros(ts: float) -> int:
    """A UTC timestamp in whole microseconds, rounded as ``datetime.fromtimestamp`` rounds it.

    An interval task's anchor is ``datetime.fromtimestamp(now)``; asking for the next fire time
    after that same ``now`` must see ``now`` and the anchor as one microsecond, or the task
    fires at its creation. ``round(ts * 1e6)`` rounds twice (the product, then the tie) and
    lands one microsecond off for about 6 % of today's timestamps; like CPython, this splits
    off the (exact) fractional part first and rounds only that, half to even.
    """
    frac, whole = math.modf(ts)
    return int(whole) * 1_000_000 + round(frac * 1_000_000)


def parse_instant(value: object, field: str) -> datetime:
    """An RFC 3339 string with an offset (or an aware datetime) as an aware datetime.

    Raises:
        TaskValidationError: for naive values (saying to add ``Z`` or ``+HH:MM``), dates
            without a time, impossible dates (Feb 30, hour 24) and anything else.
    """
    if isinstance(value, datetime):
        return _require_aware(value, field)
    if not isinstance(value, str):
        raise TaskValidationError(
            f"{field} must be an ISO 8601 string with an offset such as '2030-05-14T09:00:00Z' "
            f"or an aware datetime, got {type(value).__name__} {value!r}",
            field=field,
            value=value,
        )
    text = value.strip()
    match = _RFC3339.match(text)
    if match is None:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", text):
            why = "has no UTC offset; add 'Z' (UTC) or '+HH:MM'"
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            why = "is a date without a time; write e.g. '2030-05-14T09:00:00Z'"
        else:
            why = "is not an ISO 8601 / RFC 3339 date-time such as '2030-05-14T09:00:00+02:00'"
        raise TaskValidationError(f"{field} {value!r} {why}", field=field, value=value)
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    except ValueError as exc:
        raise TaskValidationError(
            f"{field} {value!r} is not a real date and time ({exc})", field=field, value=value
        ) from exc
    return parsed
