"""The shared sample of cron cases and bad triggers (copied from ../shared/cron as data)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cognia_nb import TaskValidationError
from cognia_nb.triggers import CronTrigger, parse_trigger

DATA = Path(__file__).parent / "data"
CASES = json.loads((DATA / "cron_cases.json").read_text())
BAD = json.loads((DATA / "bad_triggers.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_cron_case(case: dict[str, Any]) -> None:
    trigger = CronTrigger(case["expr"], timezone=case["tz"])
    t = datetime.fromisoformat(case["after"])
    for expected_text in case["next"]:
        expected = datetime.fromisoformat(expected_text)
        got = trigger.next_fire_time(t)
        assert got is not None
        assert got.astimezone(UTC) == expected.astimezone(UTC), (got, expected)
        assert got.utcoffset() == expected.utcoffset()
        assert str(got.tzinfo) == case["tz"]
        t = got


def _value(item: dict[str, Any]) -> object:
    return item["input"] if "input" in item else json.loads(item["input_raw"])


@pytest.mark.parametrize("item", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_trigger_refused(item: dict[str, Any]) -> None:
    value = _value(item)
    with pytest.raises(TaskValidationError) as info:
        parse_trigger(value, now=datetime(2026, 1, 1, tzinfo=UTC))
    err = info.value
    assert err.field.startswith("trigger")
    # The message names the bad value (or, for containers, the field).
    bad = err.value
    if isinstance(bad, float) and math.isnan(bad):
        assert "nan" in str(err)
    elif isinstance(bad, str | int | float) and not isinstance(bad, bool) and len(repr(bad)) < 60:
        assert repr(bad) in str(err) or str(bad) in str(err)
