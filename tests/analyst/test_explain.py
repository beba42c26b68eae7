"""scheduler.explain on the SEMANTICS.md DST cases: each case is a row with its note."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cognia_nb import Scheduler, TaskNotFoundError, TaskValidationError
from cognia_nb.testing import FakeClock


def cron(expression: str, zone: str) -> dict[str, Any]:
    return {"type": "cron", "expression": expression, "timezone": zone}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rows(scheduler: Scheduler, trigger: Any, since: str, n: int = 4) -> list[tuple[str, str]]:
    frame = scheduler.explain(trigger, n=n, since=utc(since))
    return [
        (local.isoformat(), note) for local, note in zip(frame["local"], frame["note"], strict=True)
    ]


@pytest.fixture
def scheduler() -> Scheduler:
    return Scheduler(timezone="America/New_York", clock=FakeClock(1704067200.0))


def test_new_york_spring_fixed_time_runs_at_the_end_of_the_gap(scheduler: Scheduler) -> None:
    assert rows(scheduler, cron("30 2 * * *", "America/New_York"), "2024-03-09") == [
        ("2024-03-09T02:30:00-05:00", ""),
        ("2024-03-10T03:00:00-04:00", "02:30 does not exist on 2024-03-10; runs at 03:00 EDT"),
        ("2024-03-11T02:30:00-04:00", ""),
        ("2024-03-12T02:30:00-04:00", ""),
    ]


def test_new_york_spring_wildcard_skips_the_gap(scheduler: Scheduler) -> None:
    frame = scheduler.explain(cron("*/30 * * * *", "America/New_York"), 3, utc("2024-03-10T06:00"))
    assert [t.isoformat() for t in frame["utc"]] == [
        "2024-03-10T06:30:00+00:00", "2024-03-10T07:00:00+00:00", "2024-03-10T07:30:00+00:00",
    ]  # fmt: skip
    assert list(frame["note"]) == [
        "", "02:00, 02:30 do not exist on 2024-03-10; skipped (wildcard job)", "",
    ]  # fmt: skip
    assert list(frame["offset_change"]) == [False, True, False]
    assert list(frame["zone_abbrev"]) == ["EST", "EDT", "EDT"]


def test_new_york_fall_fixed_time_runs_once_at_the_first_pass(scheduler: Scheduler) -> None:
    assert rows(scheduler, cron("30 1 * * *", "America/New_York"), "2024-11-02T12:00", 2) == [
        ("2024-11-03T01:30:00-04:00",
         "01:30 happens twice on 2024-11-03; runs once, at the first (EDT)"),
        ("2024-11-04T01:30:00-05:00", "offset -04:00 -> -05:00 on 2024-11-03"),
    ]  # fmt: skip


def test_new_york_fall_wildcard_fires_in_both_passes(scheduler: Scheduler) -> None:
    frame = scheduler.explain(cron("*/30 * * * *", "America/New_York"), 4, utc("2024-11-03T04:45"))
    assert [t.isoformat() for t in frame["local"]] == [
        "2024-11-03T01:00:00-04:00", "2024-11-03T01:30:00-04:00",
        "2024-11-03T01:00:00-05:00", "2024-11-03T01:30:00-05:00",
    ]  # fmt: skip
    notes = list(frame["note"])
    assert all("wildcard job: both passes" in note for note in notes)
    assert notes[0].endswith("(this is the first, EDT)")
    assert notes[2] == (
        "offset -04:00 -> -05:00 on 2024-11-03; 01:00 happens twice on 2024-11-03; "
        "wildcard job: both passes (this is the second, EST)"
    )
    assert list(frame["offset"]) == ["-04:00", "-04:00", "-05:00", "-05:00"]


def test_lord_howe_half_hour_gap(scheduler: Scheduler) -> None:
    got = rows(scheduler, cron("15 2 * * *", "Australia/Lord_Howe"), "2024-10-05T00:00", 2)
    assert got == [
        ("2024-10-06T02:30:00+11:00", "02:15 does not exist on 2024-10-06; runs at 02:30 +11"),
        ("2024-10-07T02:15:00+11:00", ""),
    ]


def test_santiago_midnight_gap(scheduler: Scheduler) -> None:
    got = rows(scheduler, cron("0 0 * * *", "America/Santiago"), "2024-09-07T12:00", 2)
    assert got == [
        ("2024-09-08T01:00:00-03:00", "00:00 does not exist on 2024-09-08; runs at 01:00 -03"),
        ("2024-09-09T00:00:00-03:00", ""),
    ]


def test_apia_zone_correction_catches_nothing_up(scheduler: Scheduler) -> None:
    got = rows(scheduler, cron("30 2 * * *", "Pacific/Apia"), "2011-12-29T00:00", 2)
    assert got[1] == (
        "2011-12-31T02:30:00+14:00",
        "02:30 does not exist on 2011-12-30 (a zone correction, not DST): nothing is caught up",
    )


def test_a_cron_dict_without_zone_uses_the_schedulers_and_a_task_works(
    scheduler: Scheduler,
) -> None:
    frame = scheduler.explain({"type": "cron", "expression": "0 9 * * *"}, n=1)
    assert frame["local"][0].isoformat() == "2024-01-01T09:00:00-05:00"  # clock: 2024-01-01Z
    scheduler.register_handler("h", lambda: None)
    scheduler.create_task(name="daily", handler="h", trigger=cron("0 9 * * *", "Europe/Berlin"))
    by_name = scheduler.explain("daily", n=2)
    assert [t.isoformat() for t in by_name["utc"]] == [
        "2024-01-01T08:00:00+00:00", "2024-01-02T08:00:00+00:00",
    ]  # fmt: skip
    assert scheduler.explain_rows(scheduler.get_task("daily"), n=1)[0]["zone_abbrev"] == "CET"


def test_interval_steps_in_utc_through_a_change(scheduler: Scheduler) -> None:
    trigger = {"type": "interval", "seconds": 86400, "startAt": "2024-03-09T12:00:00-05:00"}
    frame = scheduler.explain(trigger, n=2, since=utc("2024-03-09T12:00"))
    assert [t.isoformat() for t in frame["utc"]] == [
        "2024-03-09T17:00:00+00:00", "2024-03-10T17:00:00+00:00",
    ]  # fmt: skip


def test_bad_input_is_refused_naming_the_field(scheduler: Scheduler) -> None:
    with pytest.raises(TaskValidationError, match=r"event trigger has no fire times.*'ping'"):
        scheduler.explain({"type": "event", "eventType": "ping"})
    with pytest.raises(TaskValidationError, match=r"n must be an integer from 1 to 10000, got 0"):
        scheduler.explain(cron("0 9 * * *", "UTC"), n=0)
    with pytest.raises(TaskValidationError, match=r"since must be an aware datetime"):
        scheduler.explain(cron("0 9 * * *", "UTC"), since=datetime(2024, 1, 1))
    with pytest.raises(TaskValidationError, match=r"minute field: 61 is out of range"):
        scheduler.explain(cron("61 * * * *", "UTC"))
    with pytest.raises(TaskNotFoundError, match=r"no task with id 'nope'"):
        scheduler.explain("nope")


def test_a_tasks_calendar_marks_the_rows_it_skips(scheduler: Scheduler) -> None:
    scheduler.create_task(name="weekdays", handler=lambda: None, windows="Mon-Fri 00:00-24:00",
                          trigger=cron("0 9 * * *", "America/New_York"))  # fmt: skip
    frame = scheduler.explain("weekdays", n=7, since=utc("2024-03-04T00:00"))  # a Monday
    assert list(frame["excluded"].isna()) == [True] * 5 + [False] * 2
    assert frame["excluded"][5] == "Sat 09:00 is outside the windows (Mon-Fri 00:00-24:00)"
    assert scheduler.explain(cron("0 9 * * *", "UTC"), n=1)["excluded"].isna().all()
