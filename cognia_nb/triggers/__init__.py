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

from ._base import Trigger
from ._event import EventTrigger
from ._interval import MAX_INTERVAL_SECONDS, IntervalTrigger
from ._once import ONCE_PAST_TOLERANCE, OnceTrigger
from ._parse import parse_trigger
from .cron import CronTrigger

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
