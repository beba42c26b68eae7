"""Interval, once and event triggers, and parse_trigger's strictness (messages asserted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cognia_nb import TaskValidationError
from cognia_nb.triggers import (
    CronTrigger,
    EventTrigger,
    IntervalTrigger,
    OnceTrigger,
    parse_trigger,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_interval_fires_on_utc_instants_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    anchor = datetime(2024, 3, 30, 12, 0, tzinfo=berlin)
    trigger = IntervalTrigger(86_400, anchor)
    nxt = trigger.next_fire_time(anchor)
    assert nxt is not None
    # 24 h later in UTC is 13:00 local after spring-forward: never doubled, never dropped.
    assert nxt.astimezone(UTC) == anchor.astimezone(UTC) + timedelta(days=1)
    assert nxt.hour == 13


def test_interval_before_anchor_fires_at_anchor_and_unanchored_adds_one_period() -> None:
    anchor = datetime(2030, 1, 1, tzinfo=UTC)
    assert IntervalTrigger(60, anchor).next_fire_time(NOW) == anchor
    assert IntervalTrigger(60).next_fire_time(NOW) == NOW + timedelta(seconds=60)
    assert IntervalTrigger(60).anchored(anchor).start_at == anchor


@pytest.mark.parametrize(
    ("seconds", "message"),
    [
        (0, r"0 < seconds <= 31622400.*got 0"),
        (-5, r"got -5"),
        (31_622_401, r"got 31622401"),
        (float("inf"), r"finite.*got inf"),
        (float("nan"), r"finite.*got nan"),
        (True, r"must be a number of seconds.*bool True"),
        ("60", r"must be a number of seconds.*str '60'"),
    ],
)
def test_interval_refusals(seconds: object, message: str) -> None:
    with pytest.raises(TaskValidationError, match=message) as info:
        IntervalTrigger(seconds)  # type: ignore[arg-type]
    assert info.value.field == "trigger.seconds"


def test_once_accepts_offsets_and_z() -> None:
    for text in (
        "2030-05-14T09:00:00Z",
        "2030-05-14T09:00:00+02:00",
        "2030-05-14 09:00z",
        "2030-05-14T09:00:00.123456-03:30",
    ):
        trigger = parse_trigger({"type": "once", "runAt": text}, now=NOW)
        assert isinstance(trigger, OnceTrigger)
        assert trigger.run_at.tzinfo is not None


@pytest.mark.parametrize(
    ("run_at", "message"),
    [
        ("2030-05-14T09:00:00", r"has no UTC offset; add 'Z' \(UTC\) or '\+HH:MM'"),
        ("2030-05-14", r"is a date without a time"),
        ("tomorrow", r"is not an ISO 8601"),
        ("2030-02-30T00:00:00Z", r"is not a real date and time"),
        ("2030-05-14T24:00:00Z", r"is not a real date and time"),
        (datetime(2030, 5, 14, 9), r"has no UTC offset"),
        (1234, r"must be an ISO 8601 string.*int 1234"),
    ],
)
def test_once_refusals(run_at: object, message: str) -> None:
    with pytest.raises(TaskValidationError, match=message) as info:
        parse_trigger({"type": "once", "runAt": run_at}, now=NOW)
    assert info.value.field == "trigger.runAt"


def test_once_past_rules() -> None:
    recent = (NOW - timedelta(minutes=4)).isoformat()
    assert parse_trigger({"type": "once", "runAt": recent}, now=NOW) is not None
    old = (NOW - timedelta(minutes=6)).isoformat()
    with pytest.raises(TaskValidationError, match=r"more than 5 minutes in the past"):
        parse_trigger({"type": "once", "runAt": old}, now=NOW)
    assert parse_trigger({"type": "once", "runAt": old}, now=NOW, allow_past=True) is not None
    trigger = OnceTrigger("2030-01-01T00:00:00Z")
    assert trigger.next_fire_time(NOW) == datetime(2030, 1, 1, tzinfo=UTC)
    assert trigger.next_fire_time(datetime(2030, 1, 1, tzinfo=UTC)) is None


def test_event_names() -> None:
    trigger = EventTrigger("session:created", "core")
    assert trigger.matches("session:created", "core")
    assert not trigger.matches("session:created", "other")
    assert EventTrigger("session:created").matches("session:created", None)
    assert trigger.next_fire_time(NOW) is None
    for bad in ("", "a" * 129, "task.completed\nX-Injected: 1", "sp ace", "é"):
        with pytest.raises(TaskValidationError, match=r"1-128 characters") as info:
            EventTrigger(bad)
        assert info.value.field == "trigger.eventType"
    with pytest.raises(TaskValidationError, match=r"trigger.eventSource"):
        EventTrigger("ok", "bad source")


@pytest.mark.parametrize(
    ("value", "field", "message"),
    [
        ([1, 2], "trigger", r"trigger must be a dict.*list"),
        ({"expression": "* * * * *"}, "trigger.type", r"must be one of 'cron', 'interval'"),
        ({"type": "Cron", "expression": "* * * * *"}, "trigger.type", r"got 'Cron'"),
        ({"type": "cron"}, "trigger.expression", r"needs 'expression'"),
        (
            {"type": "cron", "expression": "* * * * *", "tz": "UTC"},
            "trigger.tz",
            r"unknown key 'tz'.*allowed keys: expression, timezone, type",
        ),
        (
            {"type": "event", "eventType": "x", "event_source": "y"},
            "trigger.event_source",
            r"unknown key 'event_source'",
        ),
    ],
)
def test_parse_trigger_is_strict(value: object, field: str, message: str) -> None:
    with pytest.raises(TaskValidationError, match=message) as info:
        parse_trigger(value, now=NOW)
    assert info.value.field == field


def test_parse_trigger_builds_each_kind() -> None:
    assert parse_trigger({"type": "cron", "expression": "0 9 * * *", "timezone": "UTC"}) == (
        CronTrigger("0 9 * * *", "UTC")
    )
    assert parse_trigger({"type": "interval", "seconds": 300}) == IntervalTrigger(300)
    assert parse_trigger({"type": "event", "eventType": "a", "eventSource": "b"}) == (
        EventTrigger("a", "b")
    )
    assert IntervalTrigger(300).describe() == "Every 5 minutes"
    assert IntervalTrigger(90).describe() == "Every 90 seconds"
    assert EventTrigger("a", "b").describe() == "On event 'a' from 'b'"
    assert OnceTrigger("2030-01-01T09:00:00Z").describe() == "Once at 2030-01-01 09:00:00+00:00"
