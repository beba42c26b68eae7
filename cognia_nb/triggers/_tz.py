"""Time zones: validating IANA keys, the system's default zone, and UTC-offset timelines.

A :class:`ZoneTimeline` answers "which UTC offset is in force at instant ``t``, and from when
to when" for one zone. The cron engine walks these constant-offset segments to apply the DST
rules exactly. ``zoneinfo`` does not expose its transition table, so the timeline reads the
same TZif file (:mod:`cognia_nb.triggers._tzif`), footer rule included.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .._errors import TaskValidationError
from ._tzif import FAR_FUTURE, FAR_PAST, load_tzif, year_of, year_start

__all__ = [
    "ALWAYS_AWARE",
    "ZoneTimeline",
    "aware",
    "default_timezone",
    "get_zone",
    "timeline_for",
    "validate_zone_key",
]

_DAY = 86_400
ALWAYS_AWARE = frozenset({ZoneInfo, timezone})  # tzinfo classes whose utcoffset(dt) is never None
_MAX_ZONE_KEY = 64


@lru_cache(maxsize=1)
def _zone_keys() -> frozenset[str]:
    keys = set(available_timezones())
    keys.update({"UTC", "Etc/UTC"})
    return frozenset(keys)


def validate_zone_key(value: object, field: str = "trigger.timezone") -> str:
    """Return ``value`` if it is an IANA zone name spelled exactly as in the database.

    Refuses non-strings, paths (``../etc/passwd``), wrong case (``america/new_york``, which only
    works on case-insensitive file systems) and database metadata files (``zone1970.tab``).

    Raises:
        TaskValidationError: naming ``field`` and the value.
    """
    if not isinstance(value, str):
        raise TaskValidationError(
            f"{field} must be an IANA time zone name such as 'Europe/Berlin' or 'UTC', "
            f"got {type(value).__name__} {value!r}",
            field=field,
            value=value,
        )
    if value in _zone_keys():
        return value
    hint = ""
    if len(value) <= _MAX_ZONE_KEY:
        folded = {k.lower(): k for k in _zone_keys()}.get(value.lower())
        if folded:
            hint = f" (did you mean {folded!r}? zone names are case-sensitive)"
    raise TaskValidationError(
        f"{field} {value!r} is not an IANA time zone name{hint}; use a name from the tz "
        "database such as 'America/New_York', 'Europe/Berlin' or 'UTC'",
        field=field,
        value=value,
    )


@lru_cache(maxsize=512)
def get_zone(key: str) -> ZoneInfo:
    """Return the ``ZoneInfo`` for a validated key (cached)."""
    return ZoneInfo(validate_zone_key(key))


def _zone_from_tz_env(raw: str) -> str | None:
    value = raw[1:] if raw.startswith(":") else raw
    if value.startswith("/"):
        return _zone_from_path(Path(value))
    return value if value in _zone_keys() else None


def _zone_from_path(path: Path) -> str | None:
    try:
        resolved = path.resolve(strict=True)
    except OSError:
        return None
    parts = resolved.parts
    for marker in ("zoneinfo", "zoneinfo-posix"):
        if marker in parts:
            key = "/".join(parts[parts.index(marker) + 1 :])
            if key.startswith("posix/") or key.startswith("right/"):
                key = key.split("/", 1)[1]
            if key in _zone_keys():
                return key
    return None


def default_timezone() -> str:
    """The system's IANA zone: ``$TZ``, else ``/etc/localtime``, else ``/etc/timezone``, else UTC.

    A ``TZ`` that is not an IANA name (a POSIX rule such as ``EST5EDT,M3.2.0,M11.1.0``) is ignored
    rather than guessed at.
    """
    raw = os.environ.get("TZ")
    if raw:
        key = _zone_from_tz_env(raw)
        if key:
            return key
    key = _zone_from_path(Path("/etc/localtime"))
    if key:
        return key
    try:
        text = Path("/etc/timezone").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    if text in _zone_keys():
        return text
    return "UTC"


Pieces = tuple[list[int], list[int]]  # the starts and offsets of one UTC year's pieces
Segment = tuple[int, int, int, int]  # start, end, offset, previous offset
_Year = tuple[int, int, list[int], list[Segment]]  # start, end, segment starts, segments
_MIN_PROBE = year_start(1) + 2 * _DAY  # instants any tzinfo can convert (datetime's range)
_MAX_PROBE = year_start(10_000) - 2 * _DAY
_YEARS_KEPT = 1024


def _offset_at(zone: tzinfo, ts: int) -> int:
    off = datetime.fromtimestamp(min(max(ts, _MIN_PROBE), _MAX_PROBE), zone).utcoffset()
    assert off is not None
    return int(off.total_seconds())


def _probed_pieces(zone: tzinfo, year: int) -> Pieces:
    """Fallback for a tzinfo without TZif data: probe the offset daily, bisect each change."""
    start = max(year_start(year), _MIN_PROBE)  # probe within datetime's range only
    stop = max(min(year_start(year + 1), _MAX_PROBE), start + 1)
    starts, offsets = [year_start(year)], [_offset_at(zone, start)]
    prev_t, prev_off, t = start, offsets[0], start
    while t < stop - 1:
        t = min(t + _DAY, stop - 1)
        off = _offset_at(zone, t)
        if off != prev_off:
            a, b = prev_t, t  # offset(a) == prev_off, offset(b) == off
            while b - a > 1:
                mid = (a + b) // 2
                if _offset_at(zone, mid) == prev_off:
                    a = mid
                else:
                    b = mid
            starts.append(b)
            offsets.append(off)
            prev_off = off
        prev_t = t
    return starts, offsets


Source = tuple[list[int], list[int], int, Callable[[int], Pieces] | None]


def _source(zone: tzinfo) -> Source:
    """A zone's data: explicit segments (starts, offsets), then from ``years_from`` on, pieces
    computed a UTC year at a time: the TZif file and its footer rule, one fixed offset, or (for
    any other tzinfo) probing."""
    if isinstance(zone, ZoneInfo) and zone.key is not None:
        data = load_tzif(zone.key)
        if data is not None:
            if data.rule is None:
                return list(data.starts), list(data.offsets), FAR_FUTURE, None
            return list(data.starts), list(data.offsets), data.rule_from, data.pieces
    if isinstance(zone, timezone):
        return [FAR_PAST], [_offset_at(zone, 0)], FAR_FUTURE, None
    first = _offset_at(zone, _MIN_PROBE)
    return [FAR_PAST], [first], FAR_PAST, lambda year: _probed_pieces(zone, year)


class ZoneTimeline:
    """The constant-offset segments of one zone, from its own transition data.

    ``segment(ts)`` returns ``(start, end, offset, previous_offset)``: the segment of the UTC
    timeline holding ``ts``. The TZif file behind ``zoneinfo`` gives the segments up to its last
    transition; after it, the footer rule gives them a UTC year at a time, computed once per
    year in O(1) and kept in a bounded dict, so any year 1-9999 costs the same. Those are also
    cut at each UTC new year, where the offset usually does not change (then
    ``previous_offset == offset``); callers treat such a cut like any other boundary. No lock:
    a year computed twice by two threads gives the same value, and dict reads and writes are
    atomic.

    Args:
        zone: a ``ZoneInfo`` (read from its TZif file), a ``datetime.timezone`` (one offset) or
            any other ``tzinfo`` (probed: its offset once a day, each change bisected).
    """

    __slots__ = ("_last", "_raw", "_segments", "_starts", "_year", "_year_fn", "_years",
                 "_years_from", "zone")  # fmt: skip

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        starts, offsets, self._years_from, self._year_fn = _source(zone)
        ends = [*starts[1:], self._years_from]
        prevs = [offsets[0], *offsets[:-1]]
        self._starts = starts
        self._segments = list(zip(starts, ends, offsets, prevs, strict=True))
        self._years: dict[int, _Year] = {}
        self._raw: dict[int, Pieces] = {}
        self._year: _Year = (0, 0, [0], [(0, 0, 0, 0)])  # the last year used
        self._last: Segment = (0, 0, 0, 0)  # the last segment returned

    def segment(self, ts: float) -> Segment:
        """The segment ``(start, end, offset, previous_offset)`` that contains instant ``ts``."""
        last = self._last
        if last[0] <= ts < last[1]:
            return last
        if ts < self._years_from:
            seg = self._segments[bisect_right(self._starts, ts) - 1]
        else:
            year = self._year
            if not year[0] <= ts < year[1]:
                year = self._year = self._year_of(year_of(ts))
            seg = year[3][bisect_right(year[2], ts) - 1]
        self._last = seg
        return seg

    def offset(self, ts: float) -> int:
        """The UTC offset (seconds) in force at instant ``ts``."""
        return self.segment(ts)[2]

    def _year_of(self, year: int) -> _Year:
        found = self._years.get(year)
        if found is None:
            starts, offsets = self._pieces(year)
            lo = starts[0]
            if lo - 1 < self._years_from:
                before = self._segments[bisect_right(self._starts, lo - 1) - 1][2]
            else:
                before = self._pieces(year - 1)[1][-1]
            ends = [*starts[1:], year_start(year + 1)]
            segments = list(zip(starts, ends, offsets, [before, *offsets[:-1]], strict=True))
            found = (lo, ends[-1], starts, segments)
            if len(self._years) >= _YEARS_KEPT:
                self._years.clear()
            self._years[year] = found
        return found

    def _pieces(self, year: int) -> Pieces:
        found = self._raw.get(year)
        if found is None:
            assert self._year_fn is not None  # only asked at or after years_from
            found = self._year_fn(year)
            if len(self._raw) >= _YEARS_KEPT:
                self._raw.clear()
            self._raw[year] = found
        return found


def aware(ts: int, zone: tzinfo, timeline: ZoneTimeline) -> datetime:
    """Instant ``ts`` as an aware datetime in ``zone``, also where its UTC date is out of range.

    ``datetime.fromtimestamp`` goes through UTC, which fails for 9999-12-31T19:00-05:00 (UTC
    year 10000) and 0001-01-01T00:00+09:00 (UTC year 0); those are built from the wall time.
    """
    try:
        return datetime.fromtimestamp(ts, zone)
    except (OverflowError, ValueError, OSError):
        off = timeline.offset(ts)
        local = (_NAIVE_EPOCH + timedelta(seconds=ts + off)).replace(tzinfo=zone)
        if local.utcoffset() != timedelta(seconds=off):
            local = local.replace(fold=1)
        return local


_NAIVE_EPOCH = datetime(1970, 1, 1)


_timelines: dict[str, ZoneTimeline] = {}


def timeline_for(key: str) -> ZoneTimeline:
    """The shared :class:`ZoneTimeline` of a zone key."""
    tl = _timelines.get(key)
    if tl is None:
        try:
            tl = _timelines.setdefault(key, ZoneTimeline(get_zone(key)))
        except ZoneInfoNotFoundError as exc:  # pragma: no cover - validated keys always load
            raise TaskValidationError(
                f"time zone {key!r} cannot be loaded", field="timezone", value=key
            ) from exc
    return tl
