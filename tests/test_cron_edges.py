"""Edges found by an outside test suite (issue #21): names at either end of a range."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cognia_nb import TaskValidationError
from cognia_nb._cronparse import parse_cron
from cognia_nb.triggers import CronTrigger

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
