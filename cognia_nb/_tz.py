"""Time zones: validating IANA keys, the system's default zone, and UTC-offset timelines.

A :class:`ZoneTimeline` answers "which UTC offset is in force at instant ``t``, and from when
to when" for one zone. The cron engine walks these constant-offset segments to apply the DST
rules exactly. ``zoneinfo`` does not expose its transition table, so the timeline finds the
transitions itself: it probes the offset once a day and bisects to the second where it changed.
Results are cached per zone, a year at a time, and extended on demand.
"""

from __future__ import annotations

import os
import threading
from bisect import bisect_right
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ._errors import TaskValidationError

__all__ = ["ZoneTimeline", "default_timezone", "get_zone", "timeline_for", "validate_zone_key"]

_DAY = 86_400
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


def _offset_at(zone: ZoneInfo, ts: int) -> int:
    off = datetime.fromtimestamp(ts, zone).utcoffset()
    assert off is not None
    return int(off.total_seconds())


def _year_start(year: int) -> int:
    return int(datetime(year, 1, 1, tzinfo=UTC).timestamp())


class ZoneTimeline:
    """The constant-offset segments of one zone, found once and cached.

    ``segment(ts)`` returns ``(start, end, offset, previous_offset)``: the segment of the UTC
    timeline holding ``ts``. ``end`` may be an artificial boundary at the edge of the scanned
    range, where the offset does not change; callers treat it like any other boundary.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._lock = threading.Lock()
        # (lo, hi, bounds, offsets): bounds[0] == lo; offsets[i] holds on [bounds[i], bounds[i+1]).
        self._data: tuple[int, int, list[int], list[int]] | None = None
        self._last: tuple[int, int, int, int] = (0, 0, 0, 0)

    def segment(self, ts: float) -> tuple[int, int, int, int]:
        """The segment ``(start, end, offset, previous_offset)`` that contains instant ``ts``."""
        last = self._last
        if last[0] <= ts < last[1]:
            return last
        data = self._data
        if data is None or not (data[0] + 2 * _DAY <= ts < data[1] - 2 * _DAY):
            data = self._cover(ts)
        _lo, hi, bounds, offsets = data
        i = bisect_right(bounds, ts) - 1
        end = bounds[i + 1] if i + 1 < len(bounds) else hi
        seg = (bounds[i], end, offsets[i], offsets[i - 1] if i else offsets[0])
        self._last = seg
        return seg

    def _cover(self, ts: float) -> tuple[int, int, list[int], list[int]]:
        year = datetime.fromtimestamp(ts, UTC).year
        with self._lock:
            data = self._data
            if data is None:
                first = max(1, year - 1)
                bounds, offsets = self._scan(first)
                data = (_year_start(first), _year_start(first + 1), bounds, offsets)
            lo, hi, bounds, offsets = data
            while ts - 2 * _DAY < lo and datetime.fromtimestamp(lo, UTC).year > 1:
                prev = datetime.fromtimestamp(lo, UTC).year - 1
                b2, o2 = self._scan(prev)
                if o2[-1] == offsets[0]:
                    bounds, offsets = b2 + bounds[1:], o2 + offsets[1:]
                else:
                    bounds, offsets = b2 + bounds, o2 + offsets
                lo = b2[0]
            while ts + 2 * _DAY >= hi and datetime.fromtimestamp(hi - 1, UTC).year < 9998:
                nxt = datetime.fromtimestamp(hi, UTC).year
                b2, o2 = self._scan(nxt)
                if o2[0] == offsets[-1]:
                    b2, o2 = b2[1:], o2[1:]
                bounds, offsets = bounds + b2, offsets + o2
                hi = _year_start(nxt + 1)
            data = (lo, hi, bounds, offsets)
            self._data = data
            return data

    def _scan(self, year: int) -> tuple[list[int], list[int]]:
        """Transitions within one UTC year: probe daily, bisect each change to the second."""
        start, stop = _year_start(year), _year_start(year + 1)
        zone = self.zone
        bounds, offsets = [start], [_offset_at(zone, start)]
        prev_t, prev_off = start, offsets[0]
        t = start
        while t < stop:
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
                bounds.append(b)
                offsets.append(off)
                prev_off = off
            prev_t = t
            if t == stop - 1:
                break
        return bounds, offsets


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
