"""``scheduler.explain``: the next fire times of a schedule, with what DST did to them.

The fire times come from the trigger itself (``next_fire_time``, the one source of truth).
Offset changes are found independently, with :mod:`zoneinfo`: the wall times the expression
*asks for* are those of the same expression evaluated in UTC (a zone without offset changes),
and each fire time is compared with them to say what cronie's rules did (SEMANTICS.md):

* a wanted wall time in a gap -> "02:30 does not exist on 2024-03-10; runs at 03:00 EDT"
  (fixed-time jobs) or "...; skipped (wildcard job)";
* a repeated wall time -> "01:30 happens twice on 2024-11-03; runs once, at the first"
  (fixed-time) or "wildcard job: both passes";
* any other offset change between two fire times is named with both offsets.

The rows are plain dicts (:func:`explain_rows`, for the board); :func:`explain_frame` makes
the DataFrame (pandas is imported there, lazily).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .._errors import MissingDependencyError, TaskValidationError
from .._model.task import Task
from ..triggers import (
    CronTrigger,
    EventTrigger,
    IntervalTrigger,
    OnceTrigger,
    Trigger,
    parse_trigger,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EXPLAIN_COLUMNS", "explain_frame", "explain_rows", "resolve_trigger"]

EXPLAIN_COLUMNS = ("local", "utc", "offset", "zone_abbrev", "offset_change", "note", "excluded")
_TINY = timedelta(microseconds=1)
MAX_EXPLAIN = 10_000


def resolve_trigger(task_or_trigger: Any, default_zone: str) -> Trigger:
    """A trigger from a :class:`Task`, a :class:`Trigger` or a trigger dict.

    A cron dict without ``timezone`` gets ``default_zone`` (as creating a task would).
    """
    if isinstance(task_or_trigger, Task):
        return task_or_trigger.trigger
    if (
        isinstance(task_or_trigger, Mapping)
        and task_or_trigger.get("type") == "cron"
        and task_or_trigger.get("timezone") is None
    ):
        task_or_trigger = {**task_or_trigger, "timezone": default_zone}
    return parse_trigger(task_or_trigger, allow_past=True)


def _zone_of(trigger: Trigger) -> tzinfo:
    if isinstance(trigger, CronTrigger):
        return ZoneInfo(trigger.timezone)
    if isinstance(trigger, IntervalTrigger) and trigger.start_at is not None:
        return trigger.start_at.tzinfo or UTC
    if isinstance(trigger, OnceTrigger):
        return trigger.run_at.tzinfo or UTC
    return UTC


def _offset_text(when: datetime) -> str:
    off = when.utcoffset() or timedelta(0)
    sign = "-" if off < timedelta(0) else "+"
    minutes = abs(int(off.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _wall(when: datetime) -> datetime:
    """The wall-clock reading of an aware datetime, as a UTC datetime (for the shadow)."""
    return when.replace(tzinfo=UTC, fold=0)


def _hm(when: datetime) -> str:
    return when.strftime("%H:%M")


def _change_instant(zone: tzinfo, lo: datetime, hi: datetime) -> datetime:
    """The instant in ``(lo, hi]`` where the zone's offset changes (bisection to 1 s)."""
    before = lo.astimezone(zone).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0)


def _gap_note(shadow: CronTrigger, fire: datetime, change: datetime, wildcard: bool) -> str:
    """What happened to wall times inside a forward jump that ends at ``change``."""
    zone = fire.tzinfo
    assert zone is not None
    old = (change - _TINY).astimezone(zone)
    new = change.astimezone(zone)
    gap_start, gap_end = _wall(old) + _TINY, _wall(new)
    wanted: list[datetime] = []
    probe = shadow.next_fire_time(gap_start - _TINY)
    while probe is not None and probe < gap_end and len(wanted) < 61:
        wanted.append(probe)
        probe = shadow.next_fire_time(probe)
    jump = new.utcoffset() - old.utcoffset()  # type: ignore[operator]
    day = new.date().isoformat()
    head = f"offset {_offset_text(old)} -> {_offset_text(new)} at {_hm(new)} on {day}"
    if not wanted:
        return head
    day = wanted[0].date().isoformat()
    names = ", ".join(_hm(w) for w in wanted[:3]) + (", ..." if len(wanted) > 3 else "")
    verb = "does not exist" if len(wanted) == 1 else "do not exist"
    if jump >= timedelta(hours=3):
        return f"{names} {verb} on {day} (a zone correction, not DST): nothing is caught up"
    if wildcard:
        return f"{names} {verb} on {day}; skipped (wildcard job)"
    if fire == new:
        once = "" if len(wanted) == 1 else " once"
        return f"{names} {verb} on {day}; runs{once} at {_hm(new)} {new.tzname()}"
    return f"{names} {verb} on {day}; skipped"


def _fold_note(fire: datetime, wildcard: bool) -> str | None:
    """The note for a fire time whose wall time happens twice, else None."""
    other = fire.replace(fold=1 - fire.fold)
    if other.utcoffset() == fire.utcoffset():
        return None
    first = fire if fire.fold == 0 else other
    text = f"{_hm(fire)} happens twice on {fire.date().isoformat()}; "
    if wildcard:
        which = "first" if fire.fold == 0 else "second"
        return text + f"wildcard job: both passes (this is the {which}, {fire.tzname()})"
    return text + f"runs once, at the first ({first.tzname()})"


def _cron_note(
    trigger: CronTrigger, shadow: CronTrigger, prev: datetime, fire: datetime
) -> tuple[bool, str]:
    zone = fire.tzinfo
    assert zone is not None
    notes: list[str] = []
    changed = prev.utcoffset() != fire.utcoffset()
    if changed:
        change = _change_instant(zone, prev.astimezone(UTC), fire.astimezone(UTC))
        ahead = (change.astimezone(zone).utcoffset() or timedelta(0)) > (
            (change - _TINY).astimezone(zone).utcoffset() or timedelta(0)
        )
        if ahead:
            notes.append(_gap_note(shadow, fire, change, trigger.wildcard))
        else:
            old = (change - _TINY).astimezone(zone)
            notes.append(
                f"offset {_offset_text(old)} -> {_offset_text(change.astimezone(zone))} "
                f"on {change.astimezone(zone).date().isoformat()}"
            )
    fold = _fold_note(fire, trigger.wildcard)
    if fold is not None:
        notes.append(fold)
    return changed or fold is not None, "; ".join(notes)


def _start(since: datetime | None, now: float) -> datetime:
    if since is None:
        return datetime.fromtimestamp(now, UTC)
    if not isinstance(since, datetime) or since.utcoffset() is None:
        raise TaskValidationError(
            f"since must be an aware datetime (with tzinfo), got {since!r}",
            field="since",
            value=since,
        )
    return since


def explain_rows(
    trigger: Trigger, n: int = 10, since: datetime | None = None, *, now: float = 0.0
) -> list[dict[str, Any]]:
    """The next ``n`` fire times strictly after ``since`` (default: ``now``) as dicts.

    Keys: ``local`` (aware, the trigger's zone), ``utc``, ``offset`` (``"-04:00"``),
    ``zone_abbrev`` (``"EDT"``), ``offset_change`` (bool: an offset change happened since
    the previous row, or this wall time happens twice), ``note`` (what the rule did) and
    ``excluded`` (None here; a task's calendar fills it in: ``AnalystTools.explain_rows``).

    Raises:
        TaskValidationError: for an event trigger (no fire times), a bad ``n`` or ``since``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_EXPLAIN:
        raise TaskValidationError(
            f"n must be an integer from 1 to {MAX_EXPLAIN}, got {n!r}", field="n", value=n
        )
    if isinstance(trigger, EventTrigger):
        raise TaskValidationError(
            f"an event trigger has no fire times: it runs when {trigger.event_type!r} is "
            "emitted; explain() takes cron, interval and once triggers",
            field="trigger",
            value=trigger.to_dict(),
        )
    zone = _zone_of(trigger)
    prev = _start(since, now).astimezone(zone)
    shadow = CronTrigger(trigger.expression, "UTC") if isinstance(trigger, CronTrigger) else None
    rows: list[dict[str, Any]] = []
    while len(rows) < n:
        nxt = trigger.next_fire_time(prev)
        if nxt is None:
            break
        fire = nxt.astimezone(zone)
        changed, note = False, ""
        if isinstance(trigger, CronTrigger) and shadow is not None:
            changed, note = _cron_note(trigger, shadow, prev, fire)
        elif prev.utcoffset() != fire.utcoffset():
            changed = True
            note = f"offset {_offset_text(prev)} -> {_offset_text(fire)}; UTC steps, not moved"
        rows.append({
            "local": fire, "utc": fire.astimezone(UTC), "offset": _offset_text(fire),
            "zone_abbrev": fire.tzname() or "", "offset_change": changed, "note": note,
            "excluded": None,
        })  # fmt: skip
        prev = fire
    return rows


def explain_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows of :func:`explain_rows` as a DataFrame (pandas loads here)."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency of the history extra
        raise MissingDependencyError("pandas", "history") from None
    frame = pd.DataFrame(rows, columns=list(EXPLAIN_COLUMNS))
    frame["local"] = frame["local"].astype(object)  # keep each row's own offset
    return frame
