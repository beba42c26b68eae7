"""The zone timeline against zoneinfo's own offsets (the oracle), years 1-9999, every zone.

``ZoneTimeline`` reads the TZif file behind ``zoneinfo`` (and its POSIX footer rule) instead of
asking zoneinfo; these properties check that it answers exactly what zoneinfo answers.
"""

from __future__ import annotations

import io
import struct
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognia_nb.triggers._tz import ZoneTimeline
from cognia_nb.triggers._tzif import load_tzif, parse_posix_tz, parse_tzif, year_of, year_start

ALL_ZONES = sorted(available_timezones())
FIRST = int(datetime(1, 1, 2, tzinfo=UTC).timestamp())  # zoneinfo converts instants in here
LAST = int(datetime(9999, 12, 30, tzinfo=UTC).timestamp())
instants = st.one_of(
    st.integers(FIRST, LAST),
    st.integers(int(-2.5e9), int(4.5e9)),  # 1890-2112: where most transitions are
)


def zoneinfo_offset(zone: tzinfo, ts: int) -> int:
    off = datetime.fromtimestamp(ts, zone).utcoffset()
    assert off is not None
    return int(off.total_seconds())


def check_segment(timeline: ZoneTimeline, zone: tzinfo, ts: int) -> None:
    start, end, off, prev = timeline.segment(ts)
    assert start <= ts < end
    assert off == zoneinfo_offset(zone, ts)
    if FIRST <= start <= LAST:  # the offset holds from start to end, and changes (or not) at start
        assert zoneinfo_offset(zone, start) == off
        assert zoneinfo_offset(zone, start - 1) == prev
    if FIRST <= end <= LAST:
        assert zoneinfo_offset(zone, end - 1) == off


@settings(max_examples=1500, deadline=None)
@given(key=st.sampled_from(ALL_ZONES), ts=instants)
def test_timeline_equals_zoneinfo_in_every_zone(key: str, ts: int) -> None:
    check_segment(ZoneTimeline(ZoneInfo(key)), ZoneInfo(key), ts)


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(["America/New_York", "Europe/Dublin", "Australia/Lord_Howe"]),
    start=instants,
    steps=st.lists(st.integers(1, 40_000_000), min_size=1, max_size=30),
)
def test_a_shared_timeline_walked_anywhere_stays_exact(
    key: str, start: int, steps: list[int]
) -> None:
    timeline, zone = ZoneTimeline(ZoneInfo(key)), ZoneInfo(key)
    ts = start
    for step in steps:  # the cache of the last segment and of years must never go stale
        if FIRST <= ts <= LAST:
            check_segment(timeline, zone, ts)
        ts = ts + step if ts + step <= LAST else FIRST + step


def _tzif(footer: str) -> bytes:
    """A TZif v2 file: LMT until 1900, then -3 h until 1970, then ``footer``.

    (zoneinfo itself is not consistent within a day of a last transition whose offset the
    footer does not continue, so the property asks from 1970-01-03 on.)
    """
    empty_v1 = b"TZif2" + bytes(15) + struct.pack(">6l", 0, 0, 0, 0, 0, 0)
    chars = b"LMT\x00AAA\x00"
    header = b"TZif2" + bytes(15) + struct.pack(">6l", 0, 0, 0, 2, 2, len(chars))
    body = (
        struct.pack(">2q", -2_208_988_800, 0)
        + bytes([0, 1])
        + struct.pack(">lbB", -11_000, 0, 0)
        + struct.pack(">lbB", -10_800, 0, 4)
        + chars
    )
    return empty_v1 + header + body + b"\n" + footer.encode() + b"\n"


def _hms(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    h, rem = divmod(abs(seconds), 3600)
    return f"{sign}{h}:{rem // 60:02d}:{rem % 60:02d}"


@st.composite
def rule_dates(draw: st.DrawFn, spring: bool) -> str:
    """A transition date in spring (Feb-May) or autumn (Aug-Nov), so that the two dates of a
    rule come in the same order every year and DST never wraps round a new year differently
    from one year to the next (zoneinfo's instant and wall-clock answers disagree there)."""
    kind = draw(st.sampled_from(["M", "J", "n"]))
    if kind == "M":
        m = draw(st.integers(2, 5) if spring else st.integers(8, 11))
        date = f"M{m}.{draw(st.integers(1, 5))}.{draw(st.integers(0, 6))}"
    else:
        day = draw(st.integers(40, 140) if spring else st.integers(220, 320))
        date = f"{'J' if kind == 'J' else ''}{day}"
    time = draw(st.integers(-20 * 3600, 60 * 3600))
    return f"{date}/{_hms(time)}"


@st.composite
def posix_rules(draw: st.DrawFn) -> str:
    std = draw(st.integers(-14 * 4, 12 * 4)) * 900 + draw(st.sampled_from([0, 0, 30, 1]))
    diff = draw(st.sampled_from([3600, 1800, 7200, -3600, 2700]))
    spring, autumn = draw(rule_dates(spring=True)), draw(rule_dates(spring=False))
    start, end = (spring, autumn) if draw(st.booleans()) else (autumn, spring)  # N or S
    return f"<AAA>{_hms(-std)}<BBB>{_hms(-(std + diff))},{start},{end}"


@settings(max_examples=300, deadline=None)
@given(footer=posix_rules(), ts=st.lists(st.integers(2 * 86_400, LAST), min_size=5, max_size=20))
def test_footer_rules_equal_zoneinfo(footer: str, ts: list[int]) -> None:
    data = _tzif(footer)
    ours, theirs = parse_tzif(data), ZoneInfo.from_file(io.BytesIO(data))
    for t in ts:
        starts, offsets = ours.pieces(year_of(t))
        mine = [o for s, o in zip(starts, offsets, strict=True) if s <= t][-1]
        assert mine == zoneinfo_offset(theirs, t), (footer, t)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EST5EDT,M3.2.0,M11.1.0", (-18_000, -14_400)),
        ("<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", (45_900, 49_500)),
        ("IST-1GMT0,M10.5.0,M3.5.0/1", (3600, 0)),  # Dublin: negative DST
        ("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", (-10_800, -7200)),
        ("JST-9", 32_400),
        ("<+0530>-5:30", 19_800),
    ],
)
def test_posix_tz_strings(text: str, expected: object) -> None:
    rule = parse_posix_tz(text)
    got = rule if isinstance(rule, int) else (rule.std, rule.dst)
    assert got == expected


@pytest.mark.parametrize("text", ["EST5EDT", "EST5EDT,M3.2.0", "E5", "EST5EDT,M13.1.0,M11.1.0"])
def test_posix_tz_strings_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid POSIX TZ"):
        parse_posix_tz(text)


def test_tzif_found_like_zoneinfo_finds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    system = load_tzif("America/New_York")
    assert system is not None and system.rule is not None
    monkeypatch.setattr(zoneinfo, "TZPATH", ())  # no system files: the tzdata package
    packaged = load_tzif("America/New_York")
    assert packaged is not None and packaged.rule is not None
    zone = ZoneInfo("America/New_York")
    for year in (1850, 1950, 2006, 2030, 2500, 9999):
        for ts in range(year_start(year), year_start(year + 1), 86_400 * 7):
            expected = zoneinfo_offset(zone, ts)
            for data in (system, packaged):
                starts, offsets = data.pieces(year)
                assert [o for s, o in zip(starts, offsets, strict=True) if s <= ts][-1] == expected
    assert load_tzif("No/Such_Zone") is None
    assert load_tzif("../etc/passwd") is None


class _Eastern(tzinfo):
    """A hand-written tzinfo (the datetime docs' kind): US rules since 2007, every year."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=-5) + self.dst(dt)

    def dst(self, dt: datetime | None) -> timedelta:
        assert dt is not None
        start = datetime(dt.year, 3, 8, 2) + timedelta(days=(6 - datetime(dt.year, 3, 8).weekday()))
        end = datetime(dt.year, 11, 1, 1) + timedelta(days=(6 - datetime(dt.year, 11, 1).weekday()))
        naive = dt.replace(tzinfo=None)
        return timedelta(hours=1) if start <= naive < end else timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "EST/EDT"


@pytest.mark.parametrize(
    "zone",
    [
        timezone(timedelta(hours=5, minutes=30)),
        timezone(-timedelta(hours=14)),
        ZoneInfo.from_file(io.BytesIO(_tzif("EST5EDT,M3.2.0,M11.1.0"))),  # no key: probed
        _Eastern(),
    ],
    ids=["fixed+0530", "fixed-14", "zoneinfo-without-key", "hand-written-tzinfo"],
)
def test_fallback_timelines_without_a_tzif_file(zone: tzinfo) -> None:
    timeline = ZoneTimeline(zone)
    for year in (2, 1969, 2024, 5000, 9999):
        lo = max(year_start(year), FIRST)
        for ts in range(lo, min(year_start(year + 1), LAST), 86_400 * 5 + 3607):
            check_segment(timeline, zone, ts)
