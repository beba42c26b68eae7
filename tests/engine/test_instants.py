"""Instants are bounded to 1970-01-01 .. 9999-12-30 UTC, refused clearly outside it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cognia_nb import Scheduler, TaskValidationError
from cognia_nb.triggers import IntervalTrigger, OnceTrigger

BEHIND = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("trigger", "field"),
    [
        # valid with its offset, but past year 9999 in UTC
        ({"type": "once", "runAt": "9999-12-31T23:00:00-05:00"}, r"trigger\.runAt"),
        (OnceTrigger(datetime(9999, 12, 31, 23, tzinfo=BEHIND)), r"trigger\.runAt"),
        (IntervalTrigger(60, datetime(1969, 12, 31, 23, tzinfo=UTC)), r"trigger\.startAt"),
    ],
)
async def test_instants_outside_the_range_are_refused(
    fake_scheduler: Scheduler, trigger: object, field: str
) -> None:
    with pytest.raises(TaskValidationError, match=field + r".*9999-12-30T00:00:00Z \(UTC\)"):
        fake_scheduler.create_task(name="far", handler="h", trigger=trigger)
    assert fake_scheduler.list_tasks() == []


async def test_the_last_day_in_range_is_accepted_and_displayable(
    fake_scheduler: Scheduler,
) -> None:
    task = fake_scheduler.create_task(
        name="late", handler="h", trigger={"type": "once", "runAt": "9999-12-29T12:00:00+14:00"}
    )
    assert task.to_dict()["nextRunAt"] is None or "9999-12-2" in task.to_dict()["nextRunAt"]
    assert "9999-12-29" in task.describe()
