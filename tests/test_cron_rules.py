"""Our own cases, one group per rule of cron/SEMANTICS.md (fixed datetimes, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cognia_nb import TaskValidationError
from cognia_nb.triggers import CronTrigger


def fires(expr: str, tz: str, after: str, n: int) -> list[str]:
    trigger = CronTrigger(expr, tz)
    t = datetime.fromisoformat(after)
    out = []
    for _ in range(n):
        nxt = trigger.next_fire_time(t)
        assert nxt is not None
        out.append(nxt.isoformat())
        t = nxt
    return out


# --- syntax -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            "0 12 * * FRI-SUN",
            [
                "2024-05-17T12:00:00+00:00",
                "2024-05-18T12:00:00+00:00",
                "2024-05-19T12:00:00+00:00",
                "2024-05-24T12:00:00+00:00",
            ],
        ),
        (
            "0 12 * * 5-0",
            [
                "2024-05-17T12:00:00+00:00",
                "2024-05-18T12:00:00+00:00",
                "2024-05-19T12:00:00+00:00",
                "2024-05-24T12:00:00+00:00",
            ],
        ),
        (
            "0\t12 *  * fri",
            [
                "2024-05-17T12:00:00+00:00",
                "2024-05-24T12:00:00+00:00",
                "2024-05-31T12:00:00+00:00",
                "2024-06-07T12:00:00+00:00",
            ],
        ),
        (
            "0 0 1 jun/3 *",
            [
                "2024-06-01T00:00:00+00:00",
                "2024-09-01T00:00:00+00:00",
                "2024-12-01T00:00:00+00:00",
                "2025-06-01T00:00:00+00:00",
            ],
        ),
        (
            "@DAILY",
            [
                "2024-05-15T00:00:00+00:00",
                "2024-05-16T00:00:00+00:00",
                "2024-05-17T00:00:00+00:00",
                "2024-05-18T00:00:00+00:00",
            ],
        ),
        (
            "@yearly",
            [
                "2025-01-01T00:00:00+00:00",
                "2026-01-01T00:00:00+00:00",
                "2027-01-01T00:00:00+00:00",
                "2028-01-01T00:00:00+00:00",
            ],
        ),
        (
            "@annually",
            [
                "2025-01-01T00:00:00+00:00",
                "2026-01-01T00:00:00+00:00",
                "2027-01-01T00:00:00+00:00",
                "2028-01-01T00:00:00+00:00",
            ],
        ),
        (
            "@midnight",
            [
                "2024-05-15T00:00:00+00:00",
                "2024-05-16T00:00:00+00:00",
                "2024-05-17T00:00:00+00:00",
                "2024-05-18T00:00:00+00:00",
            ],
        ),
        (
            "0 0 L * *",
            [
                "2024-05-31T00:00:00+00:00",
                "2024-06-30T00:00:00+00:00",
                "2024-07-31T00:00:00+00:00",
                "2024-08-31T00:00:00+00:00",
            ],
        ),
        (
            "0 0 1,L * *",
            [
                "2024-05-31T00:00:00+00:00",
                "2024-06-01T00:00:00+00:00",
                "2024-06-30T00:00:00+00:00",
                "2024-07-01T00:00:00+00:00",
            ],
        ),
        (
            "0 0 * * 5#3",
            [
                "2024-05-17T00:00:00+00:00",
                "2024-06-21T00:00:00+00:00",
                "2024-07-19T00:00:00+00:00",
                "2024-08-16T00:00:00+00:00",
            ],
        ),
        (
            "0 0 * * 7#1",
            [
                "2024-06-02T00:00:00+00:00",
                "2024-07-07T00:00:00+00:00",
                "2024-08-04T00:00:00+00:00",
                "2024-09-01T00:00:00+00:00",
            ],
        ),
        (
            "59 23 29 2 *",
            [
                "2028-02-29T23:59:00+00:00",
                "2032-02-29T23:59:00+00:00",
                "2036-02-29T23:59:00+00:00",
                "2040-02-29T23:59:00+00:00",
            ],
        ),
        (
            "0 0 1 * */1",
            [
                "2024-06-01T00:00:00+00:00",
                "2024-07-01T00:00:00+00:00",
                "2024-08-01T00:00:00+00:00",
                "2024-09-01T00:00:00+00:00",
            ],
        ),
    ],
)
def test_syntax(expr: str, expected: list[str]) -> None:
    assert fires(expr, "UTC", "2024-05-14T10:07:00+00:00", len(expected)) == expected


def test_day_rule_or_when_both_restricted() -> None:
    # 1st of the month OR Monday (Vixie): Mon 20th, Mon 27th, Sat 1st of June, Mon 3rd.
    assert fires("0 0 1 * MON", "UTC", "2024-05-14T10:07:00+00:00", 4) == [
        "2024-05-20T00:00:00+00:00",
        "2024-05-27T00:00:00+00:00",
        "2024-06-01T00:00:00+00:00",
        "2024-06-03T00:00:00+00:00",
    ]


def test_day_rule_and_when_a_field_starts_with_star() -> None:
    # '*/2' in day-of-month counts as unrestricted: odd days that are also Mondays.
    assert fires("0 0 */2 * MON", "UTC", "2024-05-14T10:07:00+00:00", 3) == [
        "2024-05-27T00:00:00+00:00",
        "2024-06-03T00:00:00+00:00",
        "2024-06-17T00:00:00+00:00",
    ]
    # And a nth-weekday that can never fall on the 1st: refused, it would never fire.
    with pytest.raises(TaskValidationError, match="never fire"):
        CronTrigger("0 0 */31 * MON#5", "UTC")


def test_strictly_after_counts_seconds_and_microseconds() -> None:
    trigger = CronTrigger("0 9 * * *", "UTC")
    at_fire = datetime(2024, 5, 14, 9, 0, tzinfo=UTC)
    assert trigger.next_fire_time(at_fire) == datetime(2024, 5, 15, 9, 0, tzinfo=UTC)
    just_before = datetime(2024, 5, 14, 8, 59, 59, 999_999, tzinfo=UTC)
    assert trigger.next_fire_time(just_before) == at_fire


# --- DST: fixed-time jobs ---------------------------------------------------------------------


def test_fixed_gap_lord_howe_half_hour_shift() -> None:
    # Lord Howe moves from +10:30 to +11:00 at 02:00: 02:15 does not exist, fires at 02:30.
    assert fires("15 2 * * *", "Australia/Lord_Howe", "2024-10-05T12:00:00+10:30", 2) == [
        "2024-10-06T02:30:00+11:00",
        "2024-10-07T02:15:00+11:00",
    ]


def test_fixed_gap_several_wall_times_fire_once() -> None:
    assert fires("0,15,30,45 2 * * *", "America/New_York", "2024-03-09T12:00:00-05:00", 3) == [
        "2024-03-10T03:00:00-04:00",
        "2024-03-11T02:00:00-04:00",
        "2024-03-11T02:15:00-04:00",
    ]


def test_fixed_overlap_first_pass_only_and_fixed_set() -> None:
    def nxt(after: str) -> str:
        got = CronTrigger("45 1 * * *", "America/New_York").next_fire_time(
            datetime.fromisoformat(after)
        )
        assert got is not None
        return got.isoformat()

    assert nxt("2024-11-03T01:00:00-04:00") == "2024-11-03T01:45:00-04:00"
    # From anywhere in the second pass the next run is tomorrow, not the second 01:45.
    assert nxt("2024-11-03T01:10:00-05:00") == "2024-11-04T01:45:00-05:00"
    assert nxt("2024-11-03T01:45:00-04:00") == "2024-11-04T01:45:00-05:00"


def test_fixed_after_the_repeated_hour_on_the_same_day() -> None:
    # In the second pass, 02:00 EST is still ahead (it is reached for the first time).
    trigger = CronTrigger("0 2 * * *", "America/New_York")
    nxt = trigger.next_fire_time(datetime.fromisoformat("2024-11-03T01:10:00-05:00"))
    assert nxt is not None and nxt.isoformat() == "2024-11-03T02:00:00-05:00"


def test_jump_of_three_hours_or_more_is_not_caught_up() -> None:
    # Samoa skipped 2011-12-30 entirely (-10:00 -> +14:00): noon that day never runs.
    assert fires("0 12 * * *", "Pacific/Apia", "2011-12-29T13:00:00-10:00", 2) == [
        "2011-12-31T12:00:00+14:00",
        "2012-01-01T12:00:00+14:00",
    ]


# --- DST: wildcard jobs -----------------------------------------------------------------------


def test_wildcard_overlap_both_passes() -> None:
    assert fires("*/15 * * * *", "America/New_York", "2024-11-03T01:40:00-04:00", 4) == [
        "2024-11-03T01:45:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T01:15:00-05:00",
        "2024-11-03T01:30:00-05:00",
    ]


def test_wildcard_gap_is_skipped() -> None:
    assert fires("*/30 * * * *", "Europe/Berlin", "2024-03-31T01:10:00+01:00", 3) == [
        "2024-03-31T01:30:00+01:00",
        "2024-03-31T03:00:00+02:00",
        "2024-03-31T03:30:00+02:00",
    ]


def test_results_are_in_the_zone_of_the_trigger() -> None:
    got = CronTrigger("0 9 * * *", "Asia/Tokyo").next_fire_time(
        datetime(2024, 5, 14, 12, tzinfo=UTC)
    )
    assert got is not None and str(got.tzinfo) == "Asia/Tokyo"
    assert got.isoformat() == "2024-05-15T09:00:00+09:00"


# --- validation messages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("60 * * * *", r"minute field: 60 is out of range 0-59"),
        ("* 24 * * *", r"hour field: 24 is out of range 0-23"),
        ("* * 32 * *", r"day-of-month field: 32 is out of range 1-31"),
        ("* * * 13 *", r"month field: 13 is out of range 1-12"),
        ("* * * * 8", r"day-of-week field: 8 is out of range 0-7"),
        ("*/61 * * * *", r"minute field: step '61' .* from 1 to 60"),
        ("0 0 * * */8", r"day-of-week field: step '8'"),
        ("20-10 * * * *", r"minute field: range '20-10' is reversed"),
        ("0 0 * * MONDAY", r"day-of-week field: name 'MONDAY' is not valid"),
        ("0 0 * FOO *", r"month field: name 'FOO' is not valid"),
        ("0 JAN * * *", r"hour field: name 'JAN' is not valid"),
        ("0 0 ? * MON", r"'\?' \(Quartz"),
        ("0 0 LW * *", r"'L' \(last day\)"),
        ("0 0 5L * *", r"'L' \(last day\)"),
        ("0 0 * * 5L", r"'L' \(last day\) is only allowed"),
        ("0 0 15W * *", r"'W' \(nearest weekday\) is not supported"),
        ("H * * * *", r"'H' \(Jenkins hash\)"),
        ("0 0 * * MON#0", r"week index after '#' must be 1-5"),
        ("0 0 0 1 1 2024", r"has 6 fields, expected 5.*Quartz"),
        ("0 0 0 1 1 ? 2024", r"'\?'"),
        ("0 0 * *", r"has 4 fields, expected 5"),
        ("@every 5m", r"'@every 5m' is not a time schedule alias"),
        ("@reboot", r"'@reboot' is not a time schedule alias"),
        ("1,,2 * * * *", r"minute field '1,,2' has an empty list item"),
        ("0 0 30 2 *", r"can never fire"),
        ("0 0 31 4,6,9,11 *", r"can never fire"),
        ("", r"is empty"),
        ("0 0 * * *\r", r"character '\\r'"),
        ("0 0 * * 1\u00a0", r"U\+00A0"),
        ("0 0 * * 1" + " " * 300, r"limit is 256"),
    ],
)
def test_refusals_name_field_and_token(expr: str, message: str) -> None:
    with pytest.raises(TaskValidationError, match=message) as info:
        CronTrigger(expr, "UTC")
    assert info.value.field == "trigger.expression"
    assert info.value.value == expr


def test_never_fires_check_allows_rare_but_real_schedules() -> None:
    CronTrigger("0 0 29 2 */7", "UTC")  # Feb 29 that is a Sunday: rare, real
    CronTrigger("0 0 31 1-12/2 *", "UTC")
    CronTrigger("0 0 * 2 MON#5", "UTC")  # Feb 29 on a Monday (2016, 2044, ...)


@pytest.mark.parametrize(
    ("tz", "message"),
    [
        ("america/new_york", r"did you mean 'America/New_York'"),
        ("../etc/passwd", r"not an IANA time zone name"),
        ("zone1970.tab", r"not an IANA time zone name"),
        ("", r"not an IANA time zone name"),
        (5, r"must be an IANA time zone name.*int 5"),
    ],
)
def test_zone_refusals(tz: object, message: str) -> None:
    with pytest.raises(TaskValidationError, match=message) as info:
        CronTrigger("0 * * * *", tz)  # type: ignore[arg-type]
    assert info.value.field == "trigger.timezone"


def test_describe_is_a_sentence_with_the_zone() -> None:
    assert CronTrigger("0 9 * * MON-FRI", "Europe/Berlin").describe() == (
        "At 09:00 AM, Monday through Friday (Europe/Berlin)"
    )
    assert CronTrigger("@hourly", "UTC").describe() == "Every hour (UTC)"


def test_default_zone_is_the_system_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    trigger = CronTrigger("0 0 * * *")
    assert trigger.timezone == "Asia/Kolkata"
    assert not trigger.timezone_explicit
    assert trigger.to_dict() == {
        "type": "cron",
        "expression": "0 0 * * *",
        "timezone": "Asia/Kolkata",
    }
