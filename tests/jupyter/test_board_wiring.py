"""The board shows what other layers report: store health, DST notes, pause reasons, owners."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cognia_nb import Scheduler
from cognia_nb.stores import StoreHealth
from cognia_nb.testing import FakeClock
from cognia_nb.testing.fixtures import stop_on_fake_clock

from .test_widgets import click, open_board, page_rows, recording_comm, sched, states

__all__ = ["recording_comm", "sched"]


async def test_header_shows_a_failing_store_and_nothing_when_it_writes(
    sched: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = open_board(sched)
    assert board.header["health"] is None  # ok: the header is as before
    error = "OperationalError: disk I/O error <b>&amp;</b>"
    failing = StoreHealth(ok=False, error=error, since=1_700_000_000.0, waiting=3)
    monkeypatch.setattr(type(sched.store), "health", property(lambda self: failing))
    board.throttle.flush()
    health = board.header["health"]
    assert health == {"error": error, "waiting": 3, "since": 1_700_000_000.0,
                      "text": f"store not writing: {error} (3 rows waiting)"}  # fmt: skip
    sent: list[Any] = [s["header"]["health"] for s in states(board) if "header" in s]
    assert sent[-1]["text"].endswith("<b>&amp;</b> (3 rows waiting)")  # data, not markup
    monkeypatch.setattr(type(sched.store), "health", property(lambda self: StoreHealth()))
    board.throttle.flush()
    assert board.header["health"] is None


async def test_a_store_whose_health_raises_does_not_break_the_board(
    sched: Scheduler, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Any) -> StoreHealth:
        raise RuntimeError("health exploded")

    monkeypatch.setattr(type(sched.store), "health", property(broken))
    board = open_board(sched)
    assert board.header["health"] is None and board.header["state"] == "running"
    assert "reading the store's health failed" in caplog.text


async def test_detail_next_fire_times_carry_dst_notes_and_calendar_skips() -> None:
    clock = FakeClock(datetime(2024, 3, 7, 12, 0, tzinfo=UTC))
    s = Scheduler(clock=clock, timezone="UTC").start()
    try:
        task = s.create_task(name="night", handler=lambda: None, exclude=["2024-03-12"],
                             trigger={"type": "cron", "expression": "30 2 * * *",
                                      "timezone": "America/New_York"})  # fmt: skip
        board = open_board(s)
        click(board, "detail", id=task.id)
        rows = board.detail["next"]
        assert [r["text"][4:14] for r in rows] == [
            "2024-03-08", "2024-03-09", "2024-03-10", "2024-03-11", "2024-03-12"]  # fmt: skip
        spring = rows[2]
        assert spring["note"] == "02:30 does not exist on 2024-03-10; runs at 03:00 EDT"
        assert spring["change"] == "UTC offset changes to -04:00"  # the old mark stays
        assert [r["note"] for r in rows[:2]] == ["", ""]
        assert rows[4]["excluded"] and not rows[3]["excluded"]
        assert rows[4]["excluded"] in str(s.explain_rows(task, n=5)[4]["excluded"])
    finally:
        await stop_on_fake_clock(s, clock)
        s.close()


async def test_a_paused_task_shows_why_in_its_row_and_detail(sched: Scheduler) -> None:
    task = sched.create_task(name="p", handler=lambda: None,
                             trigger={"type": "interval", "seconds": 60})  # fmt: skip
    board = open_board(sched)
    sched.pause_task(task.id, reason="3 failures in a row")
    click(board, "detail", id=task.id)
    assert ["paused", "3 failures in a row"] in board.detail["settings"]
    assert page_rows(board)[task.id]["pauseReason"] == "3 failures in a row"
    assert board.detail["next"] == []  # paused: no fire times, nothing explained
    sched.resume_task(task.id)
    sched.pause_task(task.id)
    board.throttle.flush()
    assert ["paused", "by hand (no reason given)"] in board.detail["settings"]
    assert page_rows(board)[task.id]["pauseReason"] == ""
    assert page_rows(board)[task.id]["excluded"] == 0


async def test_detail_says_which_process_ran_each_execution_and_rows_badge_a_service(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    s = Scheduler(store=str(path)).start()
    try:
        s.register_handler("h", lambda ctx: "x")
        task = s.create_task(name="job", handler="h",
                             trigger={"type": "interval", "seconds": 3600})  # fmt: skip
        first = await s.wait_for(s.run_task_now(task.id), timeout=10)
        second = await s.wait_for(s.run_task_now(task.id), timeout=10)
        s.store.flush()
        conn = sqlite3.connect(path)
        conn.execute(
            "INSERT INTO processes (owner, host, pid, started_ts, heartbeat_ts, info) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ("far:12:1:bb", "far", 12, time.time() - 60, time.time(), '{"kind": "service"}'),
        )
        conn.execute("UPDATE executions SET owner = ? WHERE id = ?", ("far:12:1:bb", first.id))
        conn.commit()
        conn.close()
        board = open_board(s)
        assert page_rows(board)[task.id]["service"] == "in service on far pid 12"
        click(board, "detail", id=task.id)
        ran = {x["id"]: x["ranIn"] for x in board.detail["executions"]}
        assert ran == {first.id: "far pid 12", second.id: "this kernel"}
    finally:
        await s.stop()
        s.close()


async def test_a_broken_process_table_is_logged_and_the_board_still_shows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.db"
    s = Scheduler(store=str(path)).start()
    try:
        task = s.create_task(name="job", handler=lambda: None,
                             trigger={"type": "interval", "seconds": 3600})  # fmt: skip
        s.store.flush()
        conn = sqlite3.connect(path)
        conn.execute("INSERT INTO processes (owner, host, pid, started_ts) "
                     "VALUES ('x:notanumber', 'x', 'notanumber', 0)")  # fmt: skip
        conn.commit()
        conn.close()
        board = open_board(s)
        assert page_rows(board)[task.id]["service"] == ""
        assert "reading the store's processes failed" in caplog.text
    finally:
        await s.stop()
        s.close()
