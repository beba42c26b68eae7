"""Calendars: exclude= (dates, ranges, holidays, callables) and windows= across DST."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import pytest_asyncio

from cognia_nb import MissingDependencyError, Scheduler, TaskContext, TaskValidationError
from cognia_nb._model.calendar import read_calendar
from cognia_nb.plugins._manifest import TASK_KEYS
from cognia_nb.testing import FakeClock

# The holidays package's list for Bavaria in 2025 (fixed dates; Easter-based ones included).
DE_BY_2025 = [
    date(2025, 1, 1), date(2025, 1, 6), date(2025, 4, 18), date(2025, 4, 21),
    date(2025, 5, 1), date(2025, 5, 29), date(2025, 6, 9), date(2025, 6, 19),
    date(2025, 10, 3), date(2025, 11, 1), date(2025, 12, 25), date(2025, 12, 26),
]  # fmt: skip


@pytest_asyncio.fixture
async def clock() -> FakeClock:
    return FakeClock(datetime(2024, 12, 31, 12, tzinfo=UTC))


@pytest_asyncio.fixture
async def scheduler(clock: FakeClock) -> AsyncIterator[Scheduler]:
    s = Scheduler(clock=clock, timezone="Europe/Berlin").start()
    try:
        yield s
    finally:
        await s.stop()
        s.close()
        await clock.aclose()


def local_runs(s: Scheduler, name: str, zone: str = "Europe/Berlin") -> list[str]:
    from zoneinfo import ZoneInfo

    runs = s.get_executions(name, limit=10_000)
    return sorted(r.scheduled_at.astimezone(ZoneInfo(zone)).isoformat() for r in runs)


def test_german_holidays_2025_through_the_holidays_package() -> None:
    pytest.importorskip("holidays")
    cal = read_calendar({"holidays": "DE-BY"})
    assert cal is not None
    assert (
        cal.reason(datetime(2025, 1, 1, 9, tzinfo=UTC))
        == "holiday 2025-01-01 (DE-BY): New Year's Day"
    )
    days = [date.fromordinal(o) for o in range(date(2025, 1, 1).toordinal(),
                                               date(2026, 1, 1).toordinal())]  # fmt: skip
    hit = [d for d in days if cal.reason(datetime(d.year, d.month, d.day, 9, tzinfo=UTC))]
    assert hit == DE_BY_2025


async def test_excluded_due_times_are_skipped_and_counted(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    pytest.importorskip("holidays")
    seen: list[datetime] = []

    def job(ctx: TaskContext) -> None:
        seen.append(ctx.scheduled_at)

    task = scheduler.create_task(
        name="report", handler=job,
        trigger={"type": "cron", "expression": "0 9 * * *", "timezone": "Europe/Berlin"},
        exclude=[{"holidays": "DE-BY"}, "2025-01-10", ("2025-01-20", "2025-01-22"),
                 lambda local: local.day == 31],
    )  # fmt: skip
    await clock.advance(31 * 86400)  # to 2025-01-31 12:00 UTC
    await scheduler.wait_for(scheduler.get_latest_execution(task.id).id)  # type: ignore[union-attr]
    days = sorted({r[:10] for r in local_runs(scheduler, "report")})
    skipped = {"2025-01-01", "2025-01-06", "2025-01-10", "2025-01-20", "2025-01-21",
               "2025-01-22", "2025-01-31"}  # fmt: skip
    assert days == [f"2025-01-{d:02d}" for d in range(1, 32) if f"2025-01-{d:02d}" not in skipped]
    assert task.excluded_count == 7
    assert task.last_excluded is not None and task.last_excluded.startswith("excluded by <lambda>")
    assert task.to_dict()["excludedCount"] == 7


async def test_windows_in_local_time_across_spring_dst(clock: FakeClock) -> None:
    # Berlin 2025-03-30: 02:00-02:59 does not exist; the window counts local wall time.
    await clock.advance(datetime(2025, 3, 29, 23, 5, tzinfo=UTC).timestamp() - clock.now())
    s = Scheduler(clock=clock, timezone="Europe/Berlin").start()
    try:
        task = s.create_task(name="w", handler=lambda: None, windows="Sun 01:00-04:00",
                             trigger={"type": "cron", "expression": "*/30 * * * *",
                                      "timezone": "Europe/Berlin"})  # fmt: skip
        await clock.advance(23 * 3600)  # 00:05 CET .. 23:05 CEST local
        assert local_runs(s, "w") == [
            "2025-03-30T01:00:00+01:00", "2025-03-30T01:30:00+01:00",
            "2025-03-30T03:00:00+02:00", "2025-03-30T03:30:00+02:00",
        ]  # fmt: skip
        assert task.excluded_count == 46 - 4  # 48 half hours, 2 that do not exist
    finally:
        await s.stop()
        s.close()


async def test_windows_across_fall_dst_keep_both_passes(clock: FakeClock) -> None:
    await clock.advance(datetime(2025, 10, 25, 22, 5, tzinfo=UTC).timestamp() - clock.now())
    s = Scheduler(clock=clock, timezone="Europe/Berlin").start()
    try:
        task = s.create_task(name="w", handler=lambda: None, windows=["Sun 01:00-04:00"],
                             trigger={"type": "cron", "expression": "*/30 * * * *",
                                      "timezone": "Europe/Berlin"})  # fmt: skip
        await clock.advance(25 * 3600)  # the whole 25-hour local day
        assert local_runs(s, "w") == sorted([
            "2025-10-26T01:00:00+02:00", "2025-10-26T01:30:00+02:00",
            "2025-10-26T02:00:00+02:00", "2025-10-26T02:30:00+02:00",
            "2025-10-26T02:00:00+01:00", "2025-10-26T02:30:00+01:00",
            "2025-10-26T03:00:00+01:00", "2025-10-26T03:30:00+01:00",
        ])  # fmt: skip
        assert task.excluded_count == 50 - 8
    finally:
        await s.stop()
        s.close()


def test_window_parsing() -> None:
    cal = read_calendar(windows=["Mon-Fri 08:00-18:00", "Sat 22:00-02:00"])
    assert cal is not None
    ny = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)  # a Monday
    assert cal.reason(ny) is None
    assert cal.reason(ny.replace(hour=18)) == (
        "Mon 18:00 is outside the windows (Mon-Fri 08:00-18:00, Sat 22:00-02:00)"
    )
    assert cal.reason(datetime(2025, 1, 11, 23, tzinfo=UTC)) is None  # Sat 23:00
    assert cal.reason(datetime(2025, 1, 12, 1, 59, tzinfo=UTC)) is None  # Sun 01:59 (Sat's)
    assert cal.reason(datetime(2025, 1, 12, 2, 0, tzinfo=UTC)) is not None
    assert read_calendar(windows="Fri-Mon 10:00-11:00").windows[0].days == {4, 5, 6, 0}  # type: ignore[union-attr]
    assert read_calendar() is None and read_calendar([], []) is None


@pytest.mark.parametrize(
    ("exclude", "windows", "message"),
    [
        ("2025-13-01", None, r"exclude: '2025-13-01' is not a date; use 'YYYY-MM-DD'"),
        (("2025-02-01", "2025-01-01"), None, r"ends before it starts"),
        ({"holiday": "DE"}, None, r"a dict takes only 'holidays'"),
        ({"holidays": "Germany"}, None, r"exclude.holidays must be a country code"),
        ({"holidays": "XX"}, None, r"the holidays package does not know 'XX'"),
        (42, None, r"exclude must be a date, a range"),
        (None, "Mon-Fri 8-18", r"windows: 'Mon-Fri 8-18' is not a window"),
        (None, "Mon-Fri 09:00-09:00", r"is not a window"),
        (None, "Mon-Fri 25:00-26:00", r"is not a window"),
        (None, 5, r"windows must be a string such as 'Mon-Fri 08:00-18:00'"),
    ],
)
def test_bad_calendars_are_refused(exclude: Any, windows: Any, message: str) -> None:
    s = Scheduler()
    with pytest.raises(TaskValidationError, match=message):
        s.create_task(name="t", handler=lambda: None, trigger={"type": "interval", "seconds": 60},
                      exclude=exclude, windows=windows)  # fmt: skip
    assert s.list_tasks() == []


def test_missing_holidays_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "holidays", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'cognia_nb\[holidays\]'"):
        read_calendar({"holidays": "DE-BY"})


def test_manifest_accepts_the_calendar_keys() -> None:
    from cognia_nb import ManifestError
    from cognia_nb.plugins._manifest import parse_manifest

    assert {"exclude", "windows", "maxConsecutiveFailures"} <= TASK_KEYS
    task = {"name": "t", "handler": "h", "trigger": {"type": "interval", "seconds": 60},
            "exclude": ["2025-12-24..2025-12-26", {"holidays": "DE"}],
            "windows": ["Mon-Fri 08:00-18:00"], "maxConsecutiveFailures": 3}  # fmt: skip
    head = {"name": "acme", "version": "1.0.0", "main": "x.py", "capabilities": ["scheduler"]}
    manifest = parse_manifest({**head, "scheduledTasks": [task]})
    assert manifest.tasks[0]["maxConsecutiveFailures"] == 3
    bad = {**task, "windows": "always"}
    with pytest.raises(ManifestError, match=r"scheduledTasks\[0\]\.windows"):
        parse_manifest({**head, "scheduledTasks": [bad]})


async def test_an_exclude_callable_that_raises_skips_and_never_stops_the_scheduler(
    scheduler: Scheduler, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def broken(local: datetime) -> bool:
        raise ZeroDivisionError("no calendar today")

    async def job(ctx: TaskContext) -> None:
        ran.append(ctx.task_name)

    minute = {"type": "interval", "seconds": 60}
    task = scheduler.create_task(name="guarded", handler=job, trigger=minute, exclude=broken)
    scheduler.create_task(name="plain", handler=job, trigger=minute)
    await clock.advance(125)
    assert ran == ["plain", "plain"]  # the other task goes on; the scheduler runs
    assert task.excluded_count == 2
    assert task.last_excluded == (
        "exclude callable broken raised ZeroDivisionError('no calendar today') at "
        "2024-12-31T13:02:00+01:00; the due time is skipped"
    )
    assert "exclude callable broken raised at" in caplog.text
