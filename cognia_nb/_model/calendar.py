"""Task calendars: due times a task skips (``exclude=``) or only keeps (``windows=``).

``exclude`` takes, alone or in a list: a date (``"2025-12-24"``, a :class:`datetime.date`), a
date range (``("2025-12-24", "2025-12-31")``, both ends included, or ``"2025-12-24..2025-12-31"``),
``{"holidays": "DE-BY"}`` (country, optionally ``-subdivision``, through the ``holidays``
package, the ``holidays`` extra) or a callable ``f(local_datetime) -> bool`` (True: skip;
one that raises skips that due time, with the error as the reason, and is logged: it never
stops the scheduler).
``windows`` takes one or more ``"Mon-Fri 08:00-18:00"`` strings (days optional: ``"08:00-18:00"``
means every day; the end is exclusive; ``"22:00-06:00"`` runs over midnight). Both are read in
the local time of the task's zone (cron: its zone; others: the scheduler's).

A due time the calendar refuses is skipped and counted on the task (``excluded_count``) and
its reason kept (``last_excluded``); it never becomes an execution.

Stored (:meth:`Calendar.to_dict`, :func:`calendar_from_dict`): dates, ranges, holidays and
windows are kept as text. A callable cannot be stored: it is kept in memory only and stored as
its name (``{"callable": "is_month_end"}``). A task read back from a store before the cell (or
plugin) that created it ran again has that part *unbound*: every due time is then skipped and
counted as excluded, with a reason that says so and what to do (the same rule as a missing
handler: nothing runs that the calendar might have refused). Creating the task again binds it.
A ``holidays`` entry the process cannot resolve (the extra not installed) is unbound the same
way. Unbound parts are stored back as they were, so nothing is lost.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any

from .._errors import MissingDependencyError, TaskValidationError

__all__ = ["Calendar", "Window", "calendar_from_dict", "read_calendar"]

log = logging.getLogger("cognia_nb.scheduler")

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(
    r"\s*(?:(?P<d1>[A-Za-z]{3})(?:\s*-\s*(?P<d2>[A-Za-z]{3}))?\s+)?"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*\Z"
)
_HOLIDAY_CODE = re.compile(r"([A-Z]{2,3})(?:-([A-Z0-9]{1,5}))?\Z")


@dataclass(frozen=True, slots=True)
class Window:
    """Allowed local times: on ``days`` (0 = Monday), from ``start`` (incl.) to ``end``."""

    text: str
    days: frozenset[int]
    start: time
    end: time

    def allows(self, local: datetime) -> bool:
        """Whether the local wall time falls inside this window."""
        now = local.time().replace(tzinfo=None, fold=0)
        if self.start < self.end:
            return local.weekday() in self.days and self.start <= now < self.end
        if now >= self.start:  # over midnight: the evening part belongs to its own day
            return local.weekday() in self.days
        return now < self.end and (local.weekday() - 1) % 7 in self.days


def _window(text: object) -> Window:
    found = _WINDOW.match(text) if isinstance(text, str) else None
    bad = TaskValidationError(
        f"windows: {text!r} is not a window; use 'Mon-Fri 08:00-18:00', 'Sat 10:00-12:00' or "
        "'08:00-18:00' (days Mon..Sun, 24-hour HH:MM, end exclusive)",
        field="windows",
        value=text,
    )
    if found is None:
        raise bad
    d1, d2 = (found["d1"] or "").lower(), (found["d2"] or "").lower()
    if (d1 and d1 not in _DAYS) or (d2 and d2 not in _DAYS):
        raise bad
    if not d1:
        days = frozenset(range(7))
    else:
        a, b = _DAYS.index(d1), _DAYS.index(d2 or d1)
        days = frozenset((a + i) % 7 for i in range((b - a) % 7 + 1))
    h1, m1, h2, m2 = (int(found[k]) for k in ("h1", "m1", "h2", "m2"))
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise bad
    end = time(0) if h2 == 24 else time(h2, m2)
    if time(h1, m1) == end and h2 != 24:  # 00:00-24:00 is the whole day
        raise bad
    return Window(str(text).strip(), days, time(h1, m1), end)


def _date(value: object, field_name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise TaskValidationError(
        f"{field_name}: {value!r} is not a date; use 'YYYY-MM-DD', a datetime.date, a range "
        "('2025-12-24', '2025-12-31') or '2025-12-24..2025-12-31', {'holidays': 'DE-BY'} or "
        "a callable",
        field=field_name,
        value=value,
    )


def _holidays(code: object) -> tuple[str, Any]:
    if not isinstance(code, str) or _HOLIDAY_CODE.match(code.strip().upper()) is None:
        raise TaskValidationError(
            f"exclude.holidays must be a country code with an optional subdivision, such as "
            f"'DE' or 'DE-BY', got {code!r}",
            field="exclude.holidays",
            value=code,
        )
    try:
        import holidays
    except ImportError:
        raise MissingDependencyError("holidays", "holidays") from None
    country, _, subdiv = code.strip().upper().partition("-")
    try:
        table = holidays.country_holidays(country, subdiv=subdiv or None)
    except (NotImplementedError, KeyError, ValueError) as exc:
        raise TaskValidationError(
            f"exclude.holidays: the holidays package does not know {code!r} ({exc})",
            field="exclude.holidays",
            value=code,
        ) from None
    return code.strip().upper(), table


@dataclass(slots=True)
class Calendar:
    """What a task's ``exclude=`` and ``windows=`` allow (see the module docstring)."""

    dates: frozenset[date] = frozenset()
    ranges: tuple[tuple[date, date], ...] = ()
    holidays: tuple[tuple[str, Any], ...] = ()
    predicates: tuple[Callable[[datetime], Any], ...] = ()
    windows: tuple[Window, ...] = ()
    #: Stored parts this process cannot apply: (the stored item, why); see the module docstring.
    unbound: tuple[tuple[dict[str, Any], str], ...] = ()

    def reason(self, local: datetime) -> str | None:
        """Why the due time ``local`` (aware, the task's zone) is excluded, or None."""
        day = local.date()
        if day in self.dates:
            return f"excluded date {day.isoformat()}"
        for lo, hi in self.ranges:
            if lo <= day <= hi:
                return f"excluded range {lo.isoformat()}..{hi.isoformat()}"
        for code, table in self.holidays:
            name = table.get(day)
            if name is not None:
                return f"holiday {day.isoformat()} ({code}): {name}"
        for _, why in self.unbound:
            return why
        for fn in self.predicates:
            try:
                hit = bool(fn(local))
            except Exception as exc:  # user code: a broken callable skips, never crashes
                log.warning("exclude callable %s raised at %s", callable_name(fn),
                            local.isoformat(), exc_info=True)  # fmt: skip
                return (f"exclude callable {callable_name(fn)} raised {exc!r} at "
                        f"{local.isoformat()}; the due time is skipped")  # fmt: skip
            if hit:
                return f"excluded by {callable_name(fn)}({local.isoformat()})"
        if self.windows and not any(w.allows(local) for w in self.windows):
            allowed = ", ".join(w.text for w in self.windows)
            return f"{local.strftime('%a %H:%M')} is outside the windows ({allowed})"
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"exclude": [...], "windows": [...]}`` (callables by name)."""
        exclude: list[Any] = [d.isoformat() for d in sorted(self.dates)]
        exclude += [f"{lo.isoformat()}..{hi.isoformat()}" for lo, hi in self.ranges]
        exclude += [{"holidays": code} for code, _ in self.holidays]
        exclude += [{"callable": callable_name(fn)} for fn in self.predicates]
        exclude += [dict(item) for item, _ in self.unbound]
        out: dict[str, Any] = {}
        if exclude:
            out["exclude"] = exclude
        if self.windows:
            out["windows"] = [w.text for w in self.windows]
        return out

    def rebind(self, bound: Calendar | None) -> Calendar:
        """This calendar, with unbound callables taken from ``bound`` where the names match
        (another process's copy of a task this process has bound)."""
        if bound is None or not self.unbound:
            return self
        mine = {callable_name(fn): fn for fn in bound.predicates}
        left, taken = [], []
        for item, why in self.unbound:
            fn = mine.get(str(item.get("callable")))
            if fn is None:
                left.append((item, why))
            else:
                taken.append(fn)
        return replace(self, predicates=(*self.predicates, *taken), unbound=tuple(left))


def callable_name(fn: Callable[..., Any]) -> str:
    """How a callable of ``exclude=`` is stored and shown (its name)."""
    name = getattr(fn, "__name__", None)
    return name if isinstance(name, str) else repr(fn)


def calendar_from_dict(data: dict[str, Any] | None) -> Calendar | None:
    """The calendar :meth:`Calendar.to_dict` stored; parts this process cannot apply are
    kept as :attr:`Calendar.unbound` (never raises for those).

    Raises:
        TaskValidationError: a stored date or window that is not valid (a damaged row).
    """
    if not data:
        return None
    plain: list[Any] = []
    tables: list[tuple[str, Any]] = []
    unbound: list[tuple[dict[str, Any], str]] = []
    for item in data.get("exclude") or ():
        if isinstance(item, dict) and "callable" in item:
            unbound.append((item, (
                f"exclude callable {item['callable']!r} is kept in memory only and is not bound "
                "in this process; run the cell (or load the plugin) that creates the task again"
            )))  # fmt: skip
        elif isinstance(item, dict) and "holidays" in item:
            try:
                tables.append(_holidays(item["holidays"]))
            except (TaskValidationError, MissingDependencyError) as exc:
                unbound.append((item, f"exclude {item!r} cannot be applied here: {exc}"))
        else:
            plain.append(item)
    cal = read_calendar(plain, data.get("windows")) or Calendar()
    cal.holidays, cal.unbound = tuple(tables), tuple(unbound)
    if not (cal.dates or cal.ranges or cal.holidays or cal.windows or cal.unbound):
        return None
    return cal


def _exclude_items(value: object) -> Iterable[object]:
    if value is None:
        return ()
    if isinstance(value, str | date | dict) or callable(value):
        return (value,)
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and not any(isinstance(v, tuple | list | dict) for v in value)
    ):
        return (value,)  # one (start, end) range
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(value)
    raise TaskValidationError(
        f"exclude must be a date, a range, {{'holidays': 'DE-BY'}}, a callable or a list of "
        f"those, got {type(value).__name__} {value!r}",
        field="exclude",
        value=value,
    )


def read_calendar(exclude: object = None, windows: object = None) -> Calendar | None:
    """Validate ``exclude`` and ``windows``; None when both are empty.

    Raises:
        TaskValidationError: naming the field and the value.
        MissingDependencyError: ``{"holidays": ...}`` without the ``holidays`` extra.
    """
    if exclude is None and windows is None:  # the common case: every create_task asks
        return None
    cal = Calendar()
    dates: set[date] = set()
    ranges: list[tuple[date, date]] = []
    tables: list[tuple[str, Any]] = []
    predicates: list[Callable[[datetime], Any]] = []
    for item in _exclude_items(exclude):
        if callable(item):
            predicates.append(item)
        elif isinstance(item, dict):
            if set(item) != {"holidays"}:
                raise TaskValidationError(
                    f"exclude: a dict takes only 'holidays' (such as {{'holidays': 'DE-BY'}}), "
                    f"got {item!r}",
                    field="exclude",
                    value=item,
                )
            tables.append(_holidays(item["holidays"]))
        elif isinstance(item, tuple | list) or (isinstance(item, str) and ".." in item):
            parts = item.split("..") if isinstance(item, str) else list(item)
            if len(parts) != 2:
                raise TaskValidationError(
                    f"exclude: a range needs a start and an end, got {item!r}",
                    field="exclude",
                    value=item,
                )
            lo, hi = _date(parts[0], "exclude"), _date(parts[1], "exclude")
            if hi < lo:
                raise TaskValidationError(
                    f"exclude: the range {item!r} ends before it starts",
                    field="exclude",
                    value=item,
                )
            ranges.append((lo, hi))
        else:
            dates.add(_date(item, "exclude"))
    if windows is not None and not isinstance(windows, str | list | tuple):
        raise TaskValidationError(
            f"windows must be a string such as 'Mon-Fri 08:00-18:00' or a list of them, got "
            f"{windows!r}",
            field="windows",
            value=windows,
        )
    texts: list[object] = [windows] if isinstance(windows, str) else list(windows or ())
    cal.windows = tuple(_window(t) for t in texts)
    if not (dates or ranges or tables or predicates or cal.windows):
        return None
    cal.dates, cal.ranges = frozenset(dates), tuple(ranges)
    cal.holidays, cal.predicates = tuple(tables), tuple(predicates)
    return cal
