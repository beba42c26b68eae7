"""Triggers: when a task fires.

Four kinds, matching the seed's trigger dicts (``cron/SEMANTICS.md`` is the contract):

* :class:`CronTrigger` - a five-field cron expression in an IANA zone, with cronie's DST rules;
* :class:`IntervalTrigger` - every ``seconds``, on UTC instants from an anchor;
* :class:`OnceTrigger` - one instant;
* :class:`EventTrigger` - fired by ``scheduler.emit(event_type, ...)``, never by the clock.

Every trigger is immutable and pure: ``next_fire_time(after)`` returns the first fire time
strictly after ``after`` (an aware datetime) or ``None``, and ``to_dict()`` gives the seed's
camelCase dict, which :func:`parse_trigger` reads back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar

from .._errors import TaskValidationError
from ._tz import (
    ALWAYS_AWARE,
    default_timezone,
    get_zone,
    timeline_for,
    validate_zone_key,
)
from .cron._grammar import parse_cron
from .cron._matcher import CronSchedule

__all__ = [
    "MAX_INTERVAL_SECONDS",
    "ONCE_PAST_TOLERANCE",
    "CronTrigger",
    "EventTrigger",
    "IntervalTrigger",
    "OnceTrigger",
    "Trigger",
    "parse_trigger",
]

MAX_INTERVAL_SECONDS = 31_622_400  # 366 days
ONCE_PAST_TOLERANCE = timedelta(minutes=5)
_EVENT_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,128}\Z")
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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


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


class OnceTrigger(Trigger):
    """Fire once, at ``run_at`` (an aware datetime or an RFC 3339 string with an offset)."""

    kind = "once"
    __slots__ = ("run_at",)

    def __init__(self, run_at: datetime | str) -> None:
        self.run_at = parse_instant(run_at, "trigger.runAt")

    def next_fire_time(self, after: datetime) -> datetime | None:
        """``run_at`` if it is strictly after ``after``, else None (spent)."""
        return self.run_at if self.run_at > _require_aware(after, "after") else None

    def next_fire_timestamp(self, ts: float) -> float | None:
        """``run_at`` as a timestamp if it is strictly after ``ts``."""
        at = self.run_at.timestamp()
        return at if at > ts else None

    def to_dict(self) -> dict[str, Any]:
        return {"type": "once", "runAt": self.run_at.isoformat()}

    def describe(self) -> str:
        return f"Once at {self.run_at.isoformat(sep=' ', timespec='seconds')}"


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


_KEYS: dict[str, tuple[set[str], set[str]]] = {
    # type: (required, optional)
    "cron": ({"expression"}, {"timezone"}),
    "interval": ({"seconds"}, {"startAt"}),
    "once": ({"runAt"}, set()),
    "event": ({"eventType"}, {"eventSource"}),
}


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_keys(mapping: Mapping[Any, Any], kind: str) -> None:
    required, optional = _KEYS[kind]
    allowed = required | optional | {"type"}
    for key in mapping:
        if key not in allowed:
            raise TaskValidationError(
                f"trigger has unknown key {key!r} (value {_short(mapping[key])}) for type "
                f"{kind!r}; allowed keys: " + ", ".join(sorted(allowed)),
                field=f"trigger.{key}",
                value=mapping[key],
            )
    for key in sorted(required):
        if key not in mapping:
            raise TaskValidationError(
                f"trigger of type {kind!r} needs {key!r}", field=f"trigger.{key}", value=None
            )


def parse_trigger(
    mapping: object, *, now: datetime | None = None, allow_past: bool = False
) -> Trigger:
    """Build a trigger from the seed's dict (camelCase keys), refusing anything else.

    Args:
        mapping: ``{"type": "cron", "expression": ..., "timezone": ...}``,
            ``{"type": "interval", "seconds": ...}``, ``{"type": "once", "runAt": ...}`` or
            ``{"type": "event", "eventType": ..., "eventSource": ...}``.
        now: the current time for the "once in the past" check (default: the real clock).
        allow_past: accept a once trigger more than 5 minutes in the past (a scheduler uses
            this for a task that already exists with the same ``runAt``).

    Raises:
        TaskValidationError: naming the field and the bad value.
    """
    if isinstance(mapping, Trigger):
        return mapping
    if not isinstance(mapping, Mapping):
        raise TaskValidationError(
            f"trigger must be a dict such as {{'type': 'cron', 'expression': '0 9 * * *'}}, "
            f"got {type(mapping).__name__} {mapping!r}",
            field="trigger",
            value=mapping,
        )
    kind = mapping.get("type")
    if not isinstance(kind, str) or kind not in _KEYS:
        raise TaskValidationError(
            f"trigger.type must be one of 'cron', 'interval', 'once', 'event', got {kind!r}",
            field="trigger.type",
            value=kind,
        )
    _check_keys(mapping, kind)
    if kind == "cron":
        return CronTrigger(mapping["expression"], mapping.get("timezone"))
    if kind == "interval":
        start = mapping.get("startAt")
        start_at = None if start is None else parse_instant(start, "trigger.startAt")
        return IntervalTrigger(mapping["seconds"], start_at)
    if kind == "once":
        trigger = OnceTrigger(mapping["runAt"])
        if not allow_past:
            check_once_not_past(trigger, now)
        return trigger
    return EventTrigger(mapping["eventType"], mapping.get("eventSource"))


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
