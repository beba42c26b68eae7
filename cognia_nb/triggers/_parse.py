"""``parse_trigger``: the seed's trigger dicts (camelCase keys) to trigger objects, strictly."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .._errors import TaskValidationError
from ._base import Trigger, parse_instant
from ._event import EventTrigger
from ._interval import IntervalTrigger
from ._once import OnceTrigger, check_once_not_past
from .cron import CronTrigger

__all__ = ["parse_trigger"]

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
