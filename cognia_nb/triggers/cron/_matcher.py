"""Cron fire times with cronie's DST rules.

Two steps, as ``cron/SEMANTICS.md`` prescribes:

1. :func:`next_wall` finds the next matching *wall time* (naive local time, counted in
   seconds like a UTC timestamp) with one ``bisect`` per field and a per-month cache of the
   matching days. No minute-by-minute iteration.
2. :class:`CronSchedule` maps wall times to instants by walking the zone's constant-offset
   segments (:class:`~cognia_nb.triggers._tz.ZoneTimeline`):

   * wildcard jobs (minute or hour starts with ``*``) fire at every instant whose local time
     matches: gap times never, repeated times in both passes;
   * fixed-time jobs fire at the first instant the clock reads the wall time or later: the first
     pass of a repeated hour, the end of a gap (once, however many wall times fall in it), and
     nothing for a jump of three hours or more (a zone correction, not DST).

The set of fire times is fixed, so ``next_after(ts)`` is "the smallest element > ts".
"""

from __future__ import annotations

import math
from bisect import bisect_left
from datetime import UTC, date, datetime, timedelta, tzinfo

from .._tz import ZoneTimeline, aware
from ._days import DayCache, day_cache
from ._grammar import CronSpec

__all__ = ["CronSchedule", "next_wall"]

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MAX_YEAR = 9999
_HORIZON_YEARS = 401  # a Gregorian cycle: every (month, day, weekday) occurs in it
_BIG_JUMP = 3 * 3600  # cronie: a forward jump of >= 3 h is a clock change, not DST
# Segments that end 3 days before a wall time w cannot hold it (offsets are under a day), so
# the walk to w skips them: a schedule that fires once in 28 years visits a few segments, not 56.
_SKIP = 3 * 86_400
_MIN_WALL = (date.min.toordinal() - _EPOCH_ORDINAL) * 86_400  # 0001-01-01T00:00
_MAX_WALL = (date.max.toordinal() - _EPOCH_ORDINAL) * 86_400 + 86_340  # 9999-12-31T23:59


def next_wall(spec: CronSpec, days: DayCache, start: int) -> int | None:
    """The smallest matching wall time >= ``start`` (both in wall seconds, minute-aligned).

    Wall times run from 0001-01-01T00:00 to 9999-12-31T23:59 (``datetime``'s calendar): an
    earlier ``start`` begins at the first, and None means no match up to the last.
    """
    if start < _MIN_WALL:
        start = _MIN_WALL
    elif start > _MAX_WALL:
        return None
    day_number, rem = divmod(start, 86_400)
    hour, minute = rem // 3600, (rem % 3600) // 60
    d = date.fromordinal(day_number + _EPOCH_ORDINAL)
    year, month, day = d.year, d.month, d.day
    hours, minutes, months = spec.hours, spec.minutes, days.months
    month_start = day_number - day + 1  # day number of the 1st, from 1970-01-01
    last_year = min(year + _HORIZON_YEARS, _MAX_YEAR)
    y, k = year, bisect_left(months, month)  # k: the next allowed month from here on
    while True:
        if k == len(months):
            y, k = y + 1, 0
            if y > last_year:
                return None
        m = months[k]
        if m != month or y != year:  # a later month than the start's: from its first minute
            day, hour, minute = 1, 0, 0
            month_start = date(y, m, 1).toordinal() - _EPOCH_ORDINAL
        month_days = days.days(y, m)
        i = bisect_left(month_days, day)
        if i < len(month_days) and month_days[i] == day:
            base = (month_start + day - 1) * 86_400
            hi = bisect_left(hours, hour)
            if hi < len(hours):
                h = hours[hi]
                if h == hour:
                    mi = bisect_left(minutes, minute)
                    if mi < len(minutes):
                        return base + h * 3600 + minutes[mi] * 60
                    if hi + 1 < len(hours):
                        return base + hours[hi + 1] * 3600 + minutes[0] * 60
                else:
                    return base + h * 3600 + minutes[0] * 60
            i += 1
        if i < len(month_days):
            return (month_start + month_days[i] - 1) * 86_400 + hours[0] * 3600 + minutes[0] * 60
        k += 1


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_EXACT_FLOAT = 2**31  # below this, a float timestamp holds every microsecond apart
_MIN_TS = _MIN_WALL - 2 * 86_400  # before every zone's first wall time (offsets < 1 day)
_MAX_TS = _MAX_WALL + 2 * 86_400


def _ceil_minute(x: float) -> int:
    return -int(-x // 60) * 60


class CronSchedule:
    """Fire times of a compiled expression in one zone, as UTC timestamps."""

    __slots__ = ("_days", "spec", "timeline")

    def __init__(self, spec: CronSpec, timeline: ZoneTimeline) -> None:
        self.spec = spec
        self.timeline = timeline
        self._days = day_cache(spec)

    def next_datetime(self, after: datetime, zone: tzinfo) -> datetime | None:
        """The first fire time strictly after ``after`` (aware), as a datetime in ``zone``."""
        ts = after.timestamp()
        if not -_EXACT_FLOAT < ts < _EXACT_FLOAT:  # far years: a float misses microseconds
            ts = (after - _EPOCH) // _SECOND  # fire times are whole seconds: floor is exact
        nxt = self.next_after(ts)
        if nxt is None:
            return None
        try:
            return datetime.fromtimestamp(nxt, zone)
        except (OverflowError, ValueError):  # its UTC date is year 0 or 10000
            return aware(nxt, zone, self.timeline)

    def next_after(self, ts: float) -> int | None:
        """The first fire instant strictly after ``ts`` (UTC seconds), or None past year 9999.

        Wall times are those of ``datetime`` (years 1-9999 on the zone's clock), so a fire time
        may lie a few hours outside the UTC years 1-9999; any finite ``ts`` is answered.
        """
        if not _MIN_TS < ts < _MAX_TS:
            if ts >= _MAX_TS or math.isnan(ts):  # no instant is after NaN either
                return None
            ts = _MIN_TS
        if self.spec.wildcard:
            return self._next_wildcard(ts)
        return self._next_fixed(ts)

    def _next_wildcard(self, ts: float) -> int | None:
        segment, spec, days = self.timeline.segment, self.spec, self._days
        _start, end, off, _prev = segment(ts)
        w = next_wall(spec, days, int((ts + off) // 60) * 60 + 60)  # the next minute
        settled = ts + _SKIP  # segments from here on cannot bring a wall time before w back
        while w is not None:
            t = w - off
            if t < end:
                return t
            start, end, off, prev_off = segment(end if end < settled else max(end, w - _SKIP))
            first_wall = _ceil_minute(start + off)
            if off < prev_off or w < first_wall:
                w = next_wall(spec, days, first_wall)
        return None

    def _next_fixed(self, ts: float) -> int | None:
        segment, spec, days = self.timeline.segment, self.spec, self._days
        start, end, off, prev_off = segment(ts)
        if prev_off > off and ts < start + (prev_off - off):
            # Second pass of a repeated hour: those wall times already fired in the first pass.
            w = next_wall(spec, days, _ceil_minute(start + prev_off))
        else:
            w = next_wall(spec, days, int((ts + off) // 60) * 60 + 60)  # the next minute
        while w is not None:
            if w < end + off:
                if w - off >= start:
                    return w - off
                # w fell into the gap that opens this segment: the clock jumped over it.
                if off - prev_off < _BIG_JUMP:
                    return start
                w = next_wall(spec, days, w + 60)
                continue
            start, end, off, prev_off = segment(max(end, w - _SKIP))
        return None
