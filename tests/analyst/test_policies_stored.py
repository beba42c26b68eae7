"""The analyst policies in the SQLite store (schema 5): calendars, pause limits, pause reasons
and calendar skips survive a restart; a schema 4 file migrates in place (real files)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cognia_nb import ExecutionStatus, Scheduler, TaskContext, TaskStatus
from cognia_nb._engine.scheduler import task_id_for
from cognia_nb._engine.sync import apply_stored
from cognia_nb._model.calendar import calendar_from_dict
from cognia_nb.stores import SQLiteStore
from cognia_nb.stores._schema import MIGRATIONS, SCHEMA_VERSION, current_version
from cognia_nb.testing import FakeClock

DAILY_9 = {"type": "cron", "expression": "0 9 * * *", "timezone": "Europe/Berlin"}
EVERY_MINUTE = {"type": "interval", "seconds": 60}
START = datetime(2025, 1, 1, 6, tzinfo=UTC)  # a Wednesday
OLD_ID = task_id_for("default", "old")


def failing(ctx: TaskContext) -> None:
    raise RuntimeError(f"no data for {ctx.scheduled_at:%Y-%m-%d}")


def no_mondays(local: datetime) -> bool:
    return local.weekday() == 0


async def test_policies_and_their_state_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    clock = FakeClock(START)
    first = Scheduler(store=str(path), clock=clock, timezone="Europe/Berlin").start()
    first.register_handler("failing", failing)
    report = first.create_task(
        name="report", handler="failing", trigger=DAILY_9, max_consecutive_failures=2,
        exclude=["2025-01-02", ("2025-01-03", "2025-01-04"), "2025-01-05..2025-01-05"],
        windows=["Mon-Fri 08:00-18:00", "Sat 10:00-12:00"],
    )  # fmt: skip
    first.create_task(name="etl", handler="failing", trigger=DAILY_9, max_consecutive_failures=10)
    await clock.advance(datetime(2025, 1, 7, 12, tzinfo=UTC).timestamp() - clock.now())
    # report: runs Jan 1 (fails), skips Jan 2-5 (dates, range), fails Jan 6 -> paused.
    assert report.status is TaskStatus.PAUSED, first.get_executions(report.id)
    assert report.excluded_count == 4
    assert report.last_excluded == "excluded range 2025-01-05..2025-01-05"
    before = {t.name: t.to_dict() for t in first.list_tasks()}
    await first.stop()
    first.close()

    second = Scheduler(store=str(path), clock=clock, timezone="Europe/Berlin").start()
    try:
        again = second.get_task("report")
        assert again.to_dict() == {**before["report"], "handlerMissing": True}
        assert again.status is TaskStatus.PAUSED
        assert again.pause_reason is not None and again.pause_reason.startswith(
            "paused after 2 failed executions in a row (max_consecutive_failures=2); last: "
        )
        assert again.pause_reason.endswith("failed: RuntimeError: no data for 2025-01-06")
        assert (again.excluded_count, again.consecutive_failures) == (4, 2)
        assert again.max_consecutive_failures == 2
        assert again.calendar is not None and again.calendar.to_dict() == {
            "exclude": ["2025-01-02", "2025-01-03..2025-01-04", "2025-01-05..2025-01-05"],
            "windows": ["Mon-Fri 08:00-18:00", "Sat 10:00-12:00"],
        }
        # the windows still apply after the restart: Saturday 09:00 is outside them
        saturday_9 = datetime(2025, 1, 11, 8, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
        assert again.calendar.reason(saturday_9) == (
            "Sat 09:00 is outside the windows (Mon-Fri 08:00-18:00, Sat 10:00-12:00)"
        )
        streak = second.get_task("etl")  # seven failures in a row, under its limit of ten
        assert (streak.consecutive_failures, streak.max_consecutive_failures) == (7, 10)
        assert streak.status is TaskStatus.ACTIVE
    finally:
        await second.stop()
        second.close()


def v4_file(path: Path) -> None:
    """A store as cognia_nb with schema 4 wrote it: one paused task, its state, one run."""
    conn = sqlite3.connect(path, isolation_level=None)
    for ddl in MIGRATIONS[:4]:
        for statement in ddl.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '4')")
    conn.execute(
        "INSERT INTO tasks (id, plugin_id, name, handler, trigger, retry, tags, overlap, "
        "misfire, misfire_grace, jitter, executor, created_ts, updated_ts) VALUES (?, "
        "'default', 'old', 'h', ?, NULL, '[\"x\"]', 'skip', 'coalesce', 1.0, 0.0, "
        "'default', 1.0, 2.0)",
        (OLD_ID, json.dumps(DAILY_9)),
    )
    conn.execute(
        "INSERT INTO task_state (id, status, next_run_ts, last_run_ts, skipped_count, "
        "missed_count, run_count, version) VALUES (?, 'paused', NULL, 1735722000.0, "
        "1, 2, 5, 3)",
        (OLD_ID,),
    )
    conn.execute(
        "INSERT INTO executions (id, task_id, plugin_id, task_name, trigger_kind, status, "
        "attempt, created_ts, scheduled_ts, finished_ts) VALUES ('x_1', ?, 'default', "
        "'old', 'schedule', 'succeeded', 1, 1735722000.0, 1735722000.0, 1735722001.0)",
        (OLD_ID,),
    )
    conn.close()


def test_a_schema_4_file_is_read_as_it_is_read_only(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    v4_file(path)
    before = path.read_bytes()
    store = SQLiteStore(path, read_only=True)
    store.open()
    try:
        (task,) = store.load_tasks()
        assert (task.name, task.status, task.run_count, task.missed_count) == (
            "old", TaskStatus.PAUSED, 5, 2)  # fmt: skip
        assert (task.calendar, task.max_consecutive_failures, task.pause_reason) == (
            None, None, None)  # fmt: skip
        assert (task.excluded_count, task.consecutive_failures, task.last_excluded) == (
            0, 0, None)  # fmt: skip
        ex = store.get_execution("x_1")
        assert ex is not None and ex.status is ExecutionStatus.SUCCEEDED
    finally:
        store.close()
    assert path.read_bytes() == before  # nothing written, not even the migration


async def test_a_schema_4_file_migrates_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    v4_file(path)
    clock = FakeClock(START)
    s = Scheduler(store=str(path), clock=clock, timezone="Europe/Berlin").start()
    try:
        old = s.get_task("old")
        assert (old.status, old.tags, old.run_count, old.skipped_count, old._version) == (
            TaskStatus.PAUSED, ("x",), 5, 1, 3)  # fmt: skip
        assert (old.excluded_count, old.pause_reason, old.calendar) == (0, None, None)
        assert [e.id for e in s.get_executions(old.id)] == ["x_1"]
        s.register_handler("h", lambda: None)
        s.create_task(name="old", handler="h", trigger=DAILY_9, tags=["x"],
                      exclude="2025-01-01", max_consecutive_failures=4)  # fmt: skip
    finally:
        await s.stop()
        s.close()
    conn = sqlite3.connect(path)
    try:
        assert current_version(conn) == SCHEMA_VERSION == 5
        row = conn.execute(
            "SELECT t.max_consecutive_failures, t.calendar, s.status, s.run_count, "
            "s.excluded_count, s.pause_reason, s.version FROM tasks AS t "
            "JOIN task_state AS s ON s.id = t.id"
        ).fetchone()
        assert row == (4, '{"exclude":["2025-01-01"]}', "paused", 5, 0, None, 4)
        assert conn.execute("SELECT count(*) FROM executions").fetchone() == (1,)
    finally:
        conn.close()


async def test_a_stored_callable_is_unbound_until_the_task_is_created_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    clock = FakeClock(START)  # Wed 2025-01-01
    ran: list[str] = []

    async def job(ctx: TaskContext) -> None:  # on the loop: runs while the clock advances
        ran.append(f"{ctx.scheduled_at:%a}")

    first = Scheduler(store=str(path), clock=clock, timezone="Europe/Berlin").start()
    first.register_handler("job", job)
    first.create_task(name="t", handler="job", trigger=DAILY_9,
                      exclude=["2025-12-24", no_mondays])  # fmt: skip
    await first.stop()
    first.close()

    second = Scheduler(store=str(path), clock=clock, timezone="Europe/Berlin")
    second.register_handler("job", job)  # the handler is back (a plugin would do this)
    second.start()
    try:
        task = second.get_task("t")
        assert task.calendar is not None
        assert task.calendar.to_dict() == {
            "exclude": ["2025-12-24", {"callable": "no_mondays"}]
        }  # stored back unchanged: nothing is lost
        await clock.advance(86400)  # Wed 09:00: not run, the calendar is not all here
        assert ran == [] and task.excluded_count == 1
        assert task.last_excluded == (
            "exclude callable 'no_mondays' is kept in memory only and is not bound in this "
            "process; run the cell (or load the plugin) that creates the task again"
        )
        explained = second.explain_rows(task, n=1)
        assert explained[0]["excluded"] == task.last_excluded  # explain says so too
        second.create_task(name="t", handler="job", trigger=DAILY_9,
                           exclude=["2025-12-24", no_mondays])  # fmt: skip
        await clock.advance(6 * 86400)  # Thu .. Tue: Monday is skipped by no_mondays
        assert ran == ["Thu", "Fri", "Sat", "Sun", "Tue"]
        assert task.excluded_count == 2
        assert task.last_excluded is not None
        assert task.last_excluded.startswith("excluded by no_mondays(2025-01-06T09:00:00+01:00")
    finally:
        await second.stop()
        second.close()


async def test_another_process_s_policies_are_taken_in_and_bound_callables_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    clock = FakeClock(START)
    mine = Scheduler(store=str(path), clock=clock, timezone="UTC").start()
    try:
        mine.register_handler("h", lambda: None)
        task = mine.create_task(name="t", handler="h", trigger=EVERY_MINUTE,
                                exclude=no_mondays)  # fmt: skip
        mine.store.flush()
        # another process changes the task: a new limit, a pause with its reason, a date more
        other = SQLiteStore(path)
        (theirs,) = other.load_tasks()
        assert theirs.calendar is not None and theirs.calendar.predicates == ()
        theirs.max_consecutive_failures, theirs.status = 5, TaskStatus.PAUSED
        theirs.pause_reason = "paused by the on-call"
        theirs.calendar.dates = frozenset({datetime(2025, 2, 3).date()})
        other.save_task(theirs)
        other.flush()
        (stored,) = other.load_tasks()
        other.close()
        assert stored._version > task._version
        apply_stored(mine, [stored], {stored.id})
        assert (task.max_consecutive_failures, task.status, task.pause_reason) == (
            5, TaskStatus.PAUSED, "paused by the on-call")  # fmt: skip
        assert task.calendar is not None and task.calendar.unbound == ()
        assert task.calendar.predicates == (no_mondays,)  # this process's own binding
        assert task.calendar.to_dict() == {"exclude": ["2025-02-03", {"callable": "no_mondays"}]}
    finally:
        await mine.stop()
        mine.close()


async def test_a_plugin_manifest_s_calendar_and_limit_reach_the_task_and_the_file(
    tmp_path: Path,
) -> None:
    import json as json_module

    from cognia_nb import load_plugin

    plugin_dir = tmp_path / "reports"
    plugin_dir.mkdir()
    (plugin_dir / "plugin.json").write_text(json_module.dumps({
        "name": "reports", "version": "1.0.0", "capabilities": ["scheduler"], "main": "main.py",
        "scheduledTasks": [{
            "name": "daily", "handler": "daily", "trigger": DAILY_9,
            "exclude": ["2025-12-24..2025-12-26", "2025-12-31"],
            "windows": ["Mon-Fri 08:00-18:00"], "maxConsecutiveFailures": 3,
        }],
    }))  # fmt: skip
    (plugin_dir / "main.py").write_text(
        "from cognia_nb import define_plugin\n"
        "def activate(context):\n"
        "    context.scheduler.register_handler('daily', lambda: None)\n"
        "plugin = define_plugin(activate)\n"
    )
    path = tmp_path / "s.db"
    s = Scheduler(store=str(path), clock=FakeClock(START), timezone="UTC").start()
    try:
        (task,) = load_plugin(plugin_dir, s).tasks
        assert task.max_consecutive_failures == 3 and task.calendar is not None
        assert task.calendar.to_dict() == {
            "exclude": ["2025-12-31", "2025-12-24..2025-12-26"],
            "windows": ["Mon-Fri 08:00-18:00"],
        }
    finally:
        await s.stop()
        s.close()
    store = SQLiteStore(path, read_only=True)
    store.open()
    try:
        (stored,) = store.load_tasks()
        assert stored.max_consecutive_failures == 3
        assert stored.calendar is not None
        assert stored.calendar.to_dict() == task.calendar.to_dict()
    finally:
        store.close()


def test_a_stored_holiday_calendar_without_the_extra_is_unbound_not_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "holidays", None)  # the extra is missing here
    stored = {"exclude": ["2025-12-24", {"holidays": "DE-BY"}], "windows": ["08:00-18:00"]}
    cal = calendar_from_dict(stored)
    assert cal is not None and cal.to_dict() == stored  # written back as it was
    why = cal.reason(datetime(2025, 3, 3, 9, tzinfo=UTC))
    assert why is not None and why.startswith("exclude {'holidays': 'DE-BY'} cannot be applied")
    assert "pip install 'cognia_nb[holidays]'" in why
    assert cal.reason(datetime(2025, 12, 24, 9, tzinfo=UTC)) == "excluded date 2025-12-24"
    assert calendar_from_dict(None) is None and calendar_from_dict({}) is None
