"""Edges found by an outside test suite (issue #21): named range ends, the calendar's ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognia_nb import TaskValidationError
from cognia_nb.triggers import CronTrigger
from cognia_nb.triggers.cron import _matcher as _cron
from cognia_nb.triggers.cron._grammar import parse_cron

# (field index, named form, numeric form): a name at the first end, the second end, both ends,
# in a plain range, a stepped range, after a step base, and in a list.
NAMED_RANGES = [
    ("month", "3-JUL", "3-7"),
    ("month", "MAR-7", "3-7"),
    ("month", "MAR-JUL", "3-7"),
    ("month", "1-jul/2", "1-7/2"),
    ("month", "jan-7/2", "1-7/2"),
    ("month", "Jan-Jul/2", "1-7/2"),
    ("month", "JUL/2", "7/2"),
    ("month", "2,APR-6,8-NOV", "2,4-6,8-11"),
    ("month", "APR-DEC", "4-12"),
    ("day-of-week", "1-WED", "1-3"),
    ("day-of-week", "0-wed", "0-3"),
    ("day-of-week", "MON-3", "1-3"),
    ("day-of-week", "MON-WED", "1-3"),
    ("day-of-week", "1-SAT/2", "1-6/2"),
    ("day-of-week", "sun-6/3", "0-6/3"),
    ("day-of-week", "TUE-THU/2", "2-4/2"),
    ("day-of-week", "WED/2", "3/2"),
    ("day-of-week", "FRI-SUN", "5-7"),
    ("day-of-week", "5-SUN", "5-7"),
    ("day-of-week", "1,TUE-4,FRI-6", "1,2-4,5-6"),
]


def _expression(field: str, text: str) -> str:
    return f"0 0 * {text} *" if field == "month" else f"0 0 * * {text}"


@pytest.mark.parametrize(("field", "named", "numeric"), NAMED_RANGES)
def test_names_at_either_end_of_a_range(field: str, named: str, numeric: str) -> None:
    a, b = parse_cron(_expression(field, named)), parse_cron(_expression(field, numeric))
    assert (a.months, a.dow, a.dow_star) == (b.months, b.dow, b.dow_star)


def test_range_ending_in_a_name_with_l_fires_daily_from_march() -> None:
    trigger = CronTrigger("0 0 * 3-JUL *", "UTC")
    t = datetime(2024, 1, 1, tzinfo=UTC)
    got = []
    for _ in range(3):
        nxt = trigger.next_fire_time(t)
        assert nxt is not None
        got.append(nxt.isoformat())
        t = nxt
    assert got == [
        "2024-03-01T00:00:00+00:00",
        "2024-03-02T00:00:00+00:00",
        "2024-03-03T00:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0 0 L-5 * *", r"day-of-month field: 'L-5': 'L' \(last day\) is only allowed"),
        ("0 0 1-L * *", r"day-of-month field: '1-L': 'L' \(last day\) is only allowed"),
        ("0 0 1-15W * *", r"day-of-month field: '1-15W': 'W' \(nearest weekday\)"),
        ("0 0 * * 1-5L", r"day-of-week field: '1-5L': 'L' \(last day\) is only allowed"),
        ("0 0 * * MON-5L", r"day-of-week field: 'MON-5L': 'L' \(last day\)"),
        ("0 0 * * 1/LW", r"day-of-week field: '1/LW': 'L' \(last day\)"),
        ("0 0 * 1-WED *", r"month field: name 'WED' is not valid"),
        ("0 0 * * MON-JUL", r"day-of-week field: name 'JUL' is not valid"),
        ("0 0 * JUL-MAR *", r"month field: range 'JUL-MAR' is reversed \(7 > 3\)"),
    ],
)
def test_l_and_w_forms_still_refused_naming_field_and_token(expr: str, message: str) -> None:
    with pytest.raises(TaskValidationError, match=message) as info:
        CronTrigger(expr, "UTC")
    assert info.value.field == "trigger.expression"


# --- the ends of the calendar --------------------------------------------------------------------


def _next(expr: str, tz: str, after: str) -> str | None:
    nxt = CronTrigger(expr, tz).next_fire_time(datetime.fromisoformat(after))
    return None if nxt is None else nxt.isoformat()


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("expr", "tz", "after", "expected"),
    [
        # the four repros of issue #21
        ("0 0 * * *", "UTC", "9998-12-31T01:00Z", "9999-01-01T00:00:00+00:00"),
        ("* * * * *", "UTC", "9999-12-31T23:58Z", "9999-12-31T23:59:00+00:00"),
        ("* * * * *", "UTC", "9999-12-31T23:59Z", None),
        ("0 19 * * *", "America/New_York", "9998-12-31T01:00Z", "9998-12-31T19:00:00-05:00"),
        ("0 0 * * *", "America/New_York", "0001-01-01T00:00Z", "0001-01-01T00:00:00-04:56:02"),
        # neighbours: a fire time whose UTC date is year 10000 or year 0 is still answered
        ("0 19 * * *", "America/New_York", "9999-12-31T01:00Z", "9999-12-31T19:00:00-05:00"),
        ("0 0 * * *", "Asia/Tokyo", "0001-01-01T00:00+14:00", "0001-01-01T00:00:00+09:18:59"),
        ("0 0 * * *", "Asia/Tokyo", "9999-12-31T01:00Z", None),
        ("0 0 * * *", "America/New_York", "9999-12-31T23:59:59-14:00", None),
        ("59 23 31 12 *", "UTC", "0001-01-01T00:00Z", "0001-12-31T23:59:00+00:00"),
        ("0 0 29 2 *", "UTC", "9996-03-01T00:00Z", None),  # 10000 would be the next leap year
        ("0 0 * 2 MON#5", "Europe/Berlin", "9000-01-01T00:00Z", "9008-02-29T00:00:00+01:00"),
        ("30 2 * * *", "America/New_York", "9999-03-14T00:00Z", "9999-03-14T03:00:00-04:00"),
        # the footer rule's repeated hour in 9999: the second 01:30 has already fired
        ("30 1 * * *", "America/New_York", "9999-11-07T05:45Z", "9999-11-08T01:30:00-05:00"),
    ],
)
def test_ends_of_the_calendar(expr: str, tz: str, after: str, expected: str | None) -> None:
    assert _next(expr, tz, after) == expected


def test_microseconds_still_count_in_far_years() -> None:
    trigger = CronTrigger("* * * * *", "UTC")
    just_before = datetime(9999, 6, 1, 11, 59, 59, 999_999, tzinfo=UTC)
    assert trigger.next_fire_time(just_before) == datetime(9999, 6, 1, 12, 0, tzinfo=UTC)
    at = datetime(9999, 6, 1, 12, 0, tzinfo=UTC)
    assert trigger.next_fire_time(at) == datetime(9999, 6, 1, 12, 1, tzinfo=UTC)


_EDGE_ZONES = ["UTC", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati", "Pacific/Niue"]
_EDGE_EXPRESSIONS = ["* * * * *", "0 0 * * *", "0 19 * * *", "30 2 * * *", "*/7 3 1 * 1"]


@pytest.mark.timeout(60)
@settings(max_examples=300, deadline=None)
@given(
    expr=st.sampled_from(_EDGE_EXPRESSIONS),
    tz=st.sampled_from(_EDGE_ZONES),
    after=st.one_of(
        st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-14))])),
        st.datetimes(max_value=datetime(1, 1, 3), timezones=st.just(timezone.max)),
        st.datetimes(min_value=datetime(9999, 12, 29), timezones=st.just(timezone.min)),
    ),
)
def test_any_after_in_the_datetime_range_is_answered(expr: str, tz: str, after: datetime) -> None:
    nxt = CronTrigger(expr, tz).next_fire_time(after)
    if nxt is None:  # only at the end of the calendar: no matching wall time left in 9999
        assert after.timestamp() > datetime(9999, 12, 29, tzinfo=UTC).timestamp()
        return
    assert nxt > after
    assert nxt.tzinfo is ZoneInfo(tz) and nxt.utcoffset() is not None
    assert nxt.replace(second=0) == nxt and nxt.microsecond == 0


def test_timestamps_outside_the_calendar_are_answered() -> None:
    trigger = CronTrigger("0 0 * * *", "UTC")
    year_one = datetime(1, 1, 1, tzinfo=UTC).timestamp()
    assert trigger.next_fire_timestamp(float("-inf")) == year_one
    assert trigger.next_fire_timestamp(-1e300) == year_one
    assert trigger.next_fire_timestamp(float("inf")) is None
    assert trigger.next_fire_timestamp(float("nan")) is None


_SPARSE = [
    "0 0 * 2 MON#5",
    "0 0 29 2 */7",
    "* * 29 2 */7",
    "*/20 1 29 2 *",
    "30 1 * 11 SUN#1",
    "* 1 1-7 11 0",
    "30 2 8-14 3 0",
    "0 0 1 1 *",
]
_SKIP_ZONES = ["America/New_York", "Europe/Dublin", "Australia/Lord_Howe", "America/Santiago"]


@settings(max_examples=200, deadline=None)
@given(
    expr=st.sampled_from(_SPARSE),
    tz=st.sampled_from(_SKIP_ZONES),
    after=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9990, 1, 1), timezones=st.just(UTC)
    ),
)
def test_skipping_far_segments_changes_no_answer(expr: str, tz: str, after: datetime) -> None:
    """The walk to a far wall time skips segments; walking every one gives the same times."""
    trigger = CronTrigger(expr, tz)
    skipped = _three_fires(trigger, after)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_cron, "_SKIP", 10**15)  # never skip: visit every segment
        walked = _three_fires(trigger, after)
    assert skipped == walked
    assert skipped[0] is not None or after.year > 9900  # None only near the end of the calendar


def _three_fires(trigger: CronTrigger, after: datetime) -> list[str | None]:
    out: list[str | None] = []
    t: datetime | None = after
    while t is not None and len(out) < 3:
        t = trigger.next_fire_time(t)
        out.append(None if t is None else t.isoformat())
    return out
