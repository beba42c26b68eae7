"""A zone's own transition data: the TZif file behind ``zoneinfo`` and its POSIX TZ footer.

``zoneinfo`` does not expose its transition table, so this module reads the same file it reads
(the first match on ``zoneinfo.TZPATH``, else the ``tzdata`` package, RFC 8536 format) and
answers the same question it answers for an instant: which UTC offset is in force. The rules
follow ``ZoneInfo.fromutc``:

* before the first transition: the first standard-time type of the file;
* from a transition on: that transition's type;
* after the last transition: the footer's POSIX TZ rule (``EST5EDT,M3.2.0,M11.1.0``), evaluated
  a UTC year at a time, or the last type when the footer has no rule.

Calendar arithmetic is done on integers (no ``datetime``), so any year works, also the years
just outside 1-9999 that the edges of the datetime range touch.
"""

from __future__ import annotations

import os
import re
import struct
from bisect import bisect_right
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "FAR_FUTURE",
    "FAR_PAST",
    "PosixRule",
    "TzifZone",
    "load_tzif",
    "parse_posix_tz",
    "year_of",
    "year_start",
]

FAR_PAST = -(1 << 62)  # the start of the segment before a zone's first transition
FAR_FUTURE = 1 << 62  # the end of the last segment of a zone without a footer rule
_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()
_DAYS_BEFORE_MONTH = (0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
_MONTH_LENGTHS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MEAN_YEAR = 31_556_952  # seconds in a mean Gregorian year


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _ordinal(year: int, month: int, day: int) -> int:
    """Proleptic Gregorian ordinal (0001-01-01 is 1) of any year, including 0 and 10000."""
    y = year - 1
    leap_day = 1 if month > 2 and _is_leap(year) else 0
    return y * 365 + y // 4 - y // 100 + y // 400 + _DAYS_BEFORE_MONTH[month] + leap_day + day


def year_start(year: int) -> int:
    """UTC seconds of ``year``-01-01T00:00Z."""
    return (_ordinal(year, 1, 1) - _EPOCH_ORDINAL) * 86_400


def year_of(ts: float) -> int:
    """The UTC year that holds instant ``ts``."""
    year = 1970 + int(ts // _MEAN_YEAR)
    while year_start(year) > ts:
        year -= 1
    while year_start(year + 1) <= ts:
        year += 1
    return year


@dataclass(frozen=True, slots=True)
class _RuleDate:
    """A POSIX TZ transition date: ``Mm.w.d``, ``Jn`` (no Feb 29) or ``n`` (with Feb 29)."""

    kind: str  # "M", "J" or "n"
    month: int
    week: int
    day: int  # weekday (M, 0 = Sunday) or day of year (J, n)
    seconds: int  # local time of day, may be negative or past 24 h

    def local_seconds(self, year: int) -> int:
        """Local seconds (counted like UTC seconds) of this date and time in ``year``."""
        if self.kind == "M":
            first = _ordinal(year, self.month, 1)
            sunday_first = first % 7  # ordinal 7 (0001-01-07) is a Sunday
            mday = (self.day - sunday_first) % 7 + 1 + (self.week - 1) * 7
            length = _MONTH_LENGTHS[self.month]
            if self.month == 2 and _is_leap(year):
                length = 29
            if mday > length:
                mday -= 7
            ordinal = first + mday - 1
        else:
            # As zoneinfo counts (CPython's C and Python code alike), not quite as POSIX does:
            # ``n`` from Dec 31 of the year before, and ``J59`` is Feb 29 in a leap year.
            # No zone of the tz database uses either form today.
            leap = 1 if self.kind == "J" and self.day >= 59 and _is_leap(year) else 0
            ordinal = _ordinal(year, 1, 1) - 1 + self.day + leap
        return (ordinal - _EPOCH_ORDINAL) * 86_400 + self.seconds


@dataclass(frozen=True, slots=True)
class PosixRule:
    """A POSIX TZ rule with daylight saving time: ``std``/``dst`` offsets and two dates."""

    std: int  # UTC offsets in seconds (east positive)
    dst: int
    start: _RuleDate  # DST starts (given in standard local time)
    end: _RuleDate  # DST ends (given in daylight local time)

    def pieces(self, year: int) -> tuple[list[int], list[int]]:
        """The constant-offset pieces of UTC ``year``: their starts and their offsets.

        As ``zoneinfo`` does it: each UTC year on its own, DST between the year's start and end
        instants (or outside them, when the end comes first, as in the southern hemisphere).
        """
        lo, hi = year_start(year), year_start(year + 1)
        s = self.start.local_seconds(year) - self.std
        e = self.end.local_seconds(year) - self.dst
        std, dst = self.std, self.dst
        if s == e:  # zoneinfo: DST all year
            return [lo], [dst]
        if s < e:  # DST inside [s, e)
            starts, offsets = [lo], [dst if s <= lo < e else std]
            changes = ((s, dst), (e, std))
        else:  # DST outside [e, s): the southern hemisphere
            starts, offsets = [lo], [std if e <= lo < s else dst]
            changes = ((e, std), (s, dst))
        for at, off in changes:
            if lo < at < hi and off != offsets[-1]:
                starts.append(at)
                offsets.append(off)
        return starts, offsets


def _merged(starts: list[int], offsets: list[int]) -> tuple[list[int], list[int]]:
    out_s, out_o = [starts[0]], [offsets[0]]
    for s, o in zip(starts[1:], offsets[1:], strict=True):
        if o != out_o[-1]:
            out_s.append(s)
            out_o.append(o)
    return out_s, out_o


_TZ_NAME = r"(?:[A-Za-z]{3,}|<[A-Za-z0-9+-]+>)"
_TZ_OFFSET = r"[+-]?\d{1,3}(?::\d{2}(?::\d{2})?)?"
_TZ_STRING = re.compile(
    rf"{_TZ_NAME}(?P<std>{_TZ_OFFSET})?(?:{_TZ_NAME}(?P<dst>{_TZ_OFFSET})?"
    r",(?P<start>[^,]+),(?P<end>[^,]+))?\Z",
    re.ASCII,
)
_RULE_DATE = re.compile(
    r"(?:M(?P<m>\d{1,2})\.(?P<w>[1-5])\.(?P<d>[0-6])|J(?P<j>\d{1,3})|(?P<n>\d{1,3}))"
    rf"(?:/(?P<time>{_TZ_OFFSET}))?\Z",
    re.ASCII,
)


def _hms(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def _rule_date(text: str) -> _RuleDate:
    m = _RULE_DATE.match(text)
    if (
        m is None
        or (m["m"] is not None and not 1 <= int(m["m"]) <= 12)
        or (m["j"] is not None and not 1 <= int(m["j"]) <= 365)
        or (m["n"] is not None and not 0 <= int(m["n"]) <= 365)
    ):
        raise ValueError(f"invalid POSIX TZ date {text!r}")
    seconds = 7200 if m["time"] is None else _hms(m["time"])
    if m["m"] is not None:
        return _RuleDate("M", int(m["m"]), int(m["w"]), int(m["d"]), seconds)
    if m["j"] is not None:
        return _RuleDate("J", 0, 0, int(m["j"]), seconds)
    return _RuleDate("n", 0, 0, int(m["n"]), seconds)


def parse_posix_tz(text: str) -> PosixRule | int:
    """A POSIX TZ string as a :class:`PosixRule`, or the fixed offset it names (seconds).

    Raises:
        ValueError: for a string this reader does not understand.
    """
    m = _TZ_STRING.match(text)
    if m is None:
        raise ValueError(f"invalid POSIX TZ string {text!r}")
    try:
        return _rule(m)
    except ValueError as exc:
        raise ValueError(f"invalid POSIX TZ string {text!r}: {exc}") from exc


def _rule(m: re.Match[str]) -> PosixRule | int:
    std = -_hms(m["std"] or "0")  # POSIX offsets are west-positive
    if m["start"] is None:
        return std
    dst = std + 3600 if m["dst"] is None else -_hms(m["dst"])
    return PosixRule(std, dst, _rule_date(m["start"]), _rule_date(m["end"]))


@dataclass(frozen=True, slots=True)
class TzifZone:
    """A zone's offsets: explicit segments, then (from ``rule_from`` on) a POSIX rule."""

    starts: tuple[int, ...]  # starts[0] == FAR_PAST; only instants where the offset changes
    offsets: tuple[int, ...]  # offsets[i] holds on [starts[i], starts[i + 1])
    rule: PosixRule | None
    rule_from: int  # the first second the rule governs (meaningless without a rule)

    def pieces(self, year: int) -> tuple[list[int], list[int]]:
        """The constant-offset pieces of UTC ``year``, in O(transitions in that year)."""
        lo, hi = year_start(year), year_start(year + 1)
        rule, rule_from = self.rule, self.rule_from
        explicit_hi = hi if rule is None else min(hi, rule_from)
        starts: list[int] = []
        offsets: list[int] = []
        if lo < explicit_hi:
            i = bisect_right(self.starts, lo) - 1
            starts.append(lo)
            offsets.append(self.offsets[i])
            i += 1
            while i < len(self.starts) and self.starts[i] < explicit_hi:
                starts.append(self.starts[i])
                offsets.append(self.offsets[i])
                i += 1
        if rule is not None and rule_from < hi:
            r_starts, r_offsets = rule.pieces(year)
            first = max(lo, rule_from)
            j = bisect_right(r_starts, first) - 1
            starts.append(first)
            offsets.append(r_offsets[j])
            starts.extend(r_starts[j + 1 :])
            offsets.extend(r_offsets[j + 1 :])
        return _merged(starts, offsets)


def _tzif_bytes(key: str) -> bytes | None:
    """The TZif file ``ZoneInfo(key)`` loads: the first on ``zoneinfo.TZPATH``, else tzdata."""
    import zoneinfo

    if os.path.isabs(key) or ".." in key.split("/"):
        return None
    for root in zoneinfo.TZPATH:
        path = os.path.join(root, key)
        if os.path.isfile(path):
            with open(path, "rb") as fh:
                return fh.read()
    *package, name = key.split("/")
    try:
        return resources.files(".".join(["tzdata.zoneinfo", *package])).joinpath(name).read_bytes()
    except (ImportError, OSError, UnicodeEncodeError):
        return None


def _header(data: bytes, at: int) -> tuple[int, tuple[int, ...]]:
    if data[at : at + 4] != b"TZif":
        raise ValueError("not a TZif file")
    version = 1 if data[at + 4] == 0 else data[at + 4] - ord("0")
    return version, struct.unpack_from(">6l", data, at + 20)


def _block_size(counts: tuple[int, ...], time_size: int) -> int:
    isut, isstd, leap, times, types, chars = counts
    return times * (time_size + 1) + types * 6 + chars + leap * (time_size + 4) + isstd + isut


def parse_tzif(data: bytes) -> TzifZone:
    """Read a TZif file (RFC 8536, versions 1-4) into a :class:`TzifZone`.

    Raises:
        ValueError: when the bytes are not a TZif file this reader understands.
    """
    version, counts = _header(data, 0)
    at, time_size, footer = 44, 4, ""
    if version >= 2:
        at += _block_size(counts, 4)
        _v, counts = _header(data, at)
        at, time_size = at + 44, 8
        end = at + _block_size(counts, 8)
        footer = data[end + 1 : data.index(b"\n", end + 1)].decode("ascii")
    _isut, _isstd, _leap, n_times, n_types, _chars = counts
    times = struct.unpack_from(f">{n_times}{'q' if time_size == 8 else 'l'}", data, at)
    at += n_times * time_size
    indices = struct.unpack_from(f">{n_times}B", data, at)
    at += n_times
    types = [struct.unpack_from(">lbB", data, at + 6 * i) for i in range(n_types)]
    if not types:
        raise ValueError("TZif file without local time types")
    before = next((t[0] for t in types if not t[1]), types[indices[0]][0] if indices else 0)
    tail = parse_posix_tz(footer) if footer else None
    if not times:  # zoneinfo: the footer (rule or fixed offset) everywhere, else the last type
        fixed = tail if isinstance(tail, int) else types[-1][0]
        rule = tail if isinstance(tail, PosixRule) else None
        return TzifZone((FAR_PAST,), (fixed,), rule, FAR_PAST)
    starts, offsets = _merged([FAR_PAST, *times], [before, *(types[i][0] for i in indices)])
    rule = tail if isinstance(tail, PosixRule) else None
    return TzifZone(tuple(starts), tuple(offsets), rule, times[-1] + 1)


def load_tzif(key: str) -> TzifZone | None:
    """The transition data behind ``ZoneInfo(key)``, or None when there is no readable file."""
    data = _tzif_bytes(key)
    if data is None:
        return None
    try:
        return parse_tzif(data)
    except (ValueError, IndexError, struct.error, UnicodeDecodeError):
        return None
