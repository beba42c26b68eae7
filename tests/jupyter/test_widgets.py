"""Widget-model tests with a recording comm: what would reach the browser."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

import ipywidgets
import pytest
from ipywidgets import Widget

from cognia_nb import ExecutionStatus, Scheduler, TaskContext
from cognia_nb.jupyter._board import Board, board_for
from cognia_nb.jupyter._panel import TextPanel, make_panel
from cognia_nb.jupyter._progress import ExecutionProgress
from cognia_nb.testing import FakeClock
from cognia_nb.testing.fixtures import stop_on_fake_clock


class RecordingComm:
    """Stands in for the kernel's comm: records every message a widget sends."""

    comm_id = "test-comm"
    kernel = "present"
    sent: typing.ClassVar[list[dict[str, Any]]] = []
    created: typing.ClassVar[int] = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.messages: list[Any] = []
        RecordingComm.created += 1

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        self.messages.append(data)
        RecordingComm.sent.append(data)

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture(autouse=True)
def recording_comm(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import comm

    monkeypatch.setattr(comm, "create_comm", lambda **kw: RecordingComm())
    monkeypatch.setattr(Widget.comm, "klass", RecordingComm, raising=False)
    RecordingComm.sent = []
    yield


@pytest.fixture
async def sched() -> Any:
    clock = FakeClock()
    s = Scheduler(clock=clock, timezone="UTC").start()
    yield s
    await stop_on_fake_clock(s, clock)  # stop's grace runs on the fake clock
    s.close()


def states(widget: Widget) -> list[dict[str, Any]]:
    return [m["state"] for m in widget.comm.messages
            if isinstance(m, dict) and m.get("method") == "update"]  # fmt: skip


def customs(widget: Widget, kind: str) -> list[dict[str, Any]]:
    return [m["content"] for m in widget.comm.messages
            if isinstance(m, dict) and m.get("method") == "custom"
            and m["content"].get("kind") == kind]  # fmt: skip


def page_rows(board: Board) -> dict[str, dict[str, Any]]:
    """What the page holds after applying every task message (as board.js does)."""
    rows: dict[str, dict[str, Any]] = {}
    for msg in customs(board, "tasks"):
        if msg["full"]:
            rows = {}
        for task_id in msg["removed"]:
            rows.pop(task_id, None)
        rows.update({r["id"]: r for r in msg["rows"]})
    return rows


def open_board(sched: Scheduler) -> Board:
    """A board with a view open (the page says hello when it renders)."""
    board = Board(sched)
    click(board, "hello")
    return board


def click(board: Board, action: str, **content: Any) -> None:
    """A message from the page, through the comm handler as the browser's would arrive."""
    board._handle_custom_msg({"action": action, **content}, [])


async def test_rows_reach_the_page_and_follow_the_hooks(sched: Scheduler) -> None:
    sched.register_handler("h", lambda: None)
    board = Board(sched)
    sched.create_task(name="early", handler="h", trigger={"type": "interval", "seconds": 60})
    board.throttle.flush()
    assert customs(board, "tasks") == []  # no view yet: no rows sent
    click(board, "hello")
    assert [r["name"] for r in page_rows(board).values()] == ["early"]
    sched.delete_task("early")
    task = sched.create_task(
        name="first", handler="h", tags=["etl"], trigger={"type": "interval", "seconds": 60}
    )
    board.throttle.flush()
    row = page_rows(board)[task.id]
    assert row["name"] == "first" and row["schedule"] == "Every minute"
    assert row["state"] == "active" and row["tags"] == ["etl"] and row["last"] is None
    sched.pause_task(task.id)
    board.throttle.flush()
    assert page_rows(board)[task.id]["state"] == "paused"
    sent = len(customs(board, "tasks"))
    board.throttle.flush()  # nothing changed: no task message
    assert len(customs(board, "tasks")) == sent
    sched.delete_task(task.id)
    board.throttle.flush()
    assert page_rows(board) == {} and board.header["tasks"] == 0


async def test_actions_from_the_page_call_the_scheduler(sched: Scheduler) -> None:
    async def work(ctx: TaskContext) -> str:
        return "done"

    sched.register_handler("h", work)
    a = sched.create_task(name="a", handler="h", trigger={"type": "interval", "seconds": 60})
    b = sched.create_task(name="b", handler="h", trigger={"type": "interval", "seconds": 60})
    board = open_board(sched)
    click(board, "run", ids=[a.id])
    (ex,) = sched.get_executions(a.id)
    await sched.wait_for(ex.id, timeout=5)
    assert ex.status is ExecutionStatus.SUCCEEDED
    board.throttle.flush()
    assert page_rows(board)[a.id]["last"]["s"] == "succeeded"
    assert board.history[0]["id"] == ex.id and board.history[0]["status"] == "succeeded"
    click(board, "pause", ids=[a.id, b.id])  # a selection
    assert {t.status for t in sched.list_tasks()} == {"paused"}
    assert customs(board, "notice")[-1]["text"] == "pause: 2 task(s)"
    click(board, "resume", ids=[a.id])
    assert sched.get_task(a.id).status == "active" and sched.get_task(b.id).status == "paused"
    click(board, "delete", ids=[a.id, b.id])
    assert sched.list_tasks() == [] and page_rows(board) == {}
    click(board, "run", ids=["t_nope"])
    assert "t_nope" in customs(board, "notice")[-1]["text"]
    assert customs(board, "notice")[-1]["level"] == "error"
    click(board, "explode")
    assert "unknown board action 'explode'" in customs(board, "notice")[-1]["text"]
    click(board, "run", ids="not a list")
    assert "'ids' must be a list of id strings" in customs(board, "notice")[-1]["text"]


async def test_cancel_and_the_missing_handler_hint(sched: Scheduler) -> None:
    import asyncio

    started = asyncio.Event()

    async def slow(ctx: TaskContext) -> None:
        started.set()
        await ctx.signal.wait()  # a cancel ends it at once (no grace on the fake clock)

    sched.register_handler("slow", slow)
    task = sched.create_task(name="slow", handler="slow",
                             trigger={"type": "event", "eventType": "x"})  # fmt: skip
    board = open_board(sched)
    click(board, "run", ids=[task.id])
    await started.wait()
    board.throttle.flush()
    (run,) = board.runs
    assert run["task"] == task.id and run["status"] == "running" and run["started"] is not None
    click(board, "cancel", ids=[run["id"]])
    done = await sched.wait_for(run["id"], timeout=5)
    assert done.status is ExecutionStatus.CANCELLED
    board.throttle.flush()
    assert board.runs == [] and page_rows(board)[task.id]["last"]["s"] == "cancelled"
    orphan = sched.create_task(name="orphan", handler="gone",
                               trigger={"type": "interval", "seconds": 60})  # fmt: skip
    board.throttle.flush()
    assert page_rows(board)[orphan.id]["state"] == "missing"
    click(board, "detail", id=orphan.id)
    assert "Re-run the cell that defines the task to re-arm it" in board.detail["missing"]
    click(board, "run", ids=[orphan.id])
    assert "orphan" in customs(board, "notice")[-1]["text"]


async def test_state_pushed_is_throttled_and_final(sched: Scheduler) -> None:
    import asyncio
    import threading

    gate = threading.Event()

    def busy(ctx: TaskContext) -> None:
        for i in range(1, 1001):
            ctx.report_progress(i / 10, f"step {i}")
        gate.wait(5)

    sched.register_handler("busy", busy)
    task = sched.create_task(name="busy", handler="busy",
                             trigger={"type": "event", "eventType": "x"})  # fmt: skip
    board = open_board(sched)
    board.comm.messages.clear()
    xid = sched.run_task_now(task.id)
    await asyncio.sleep(1.0)  # a thousand progress reports arrive within this second
    running = [s["runs"] for s in states(board) if s.get("runs")]
    assert running and running[-1][0]["pct"] == 100.0 and running[-1][0]["msg"] == "step 1000"
    gate.set()
    await sched.wait_for(xid, timeout=5)
    await asyncio.sleep(0.15)  # the deferred flush
    updates = states(board)
    assert len(updates) <= 15, len(updates)  # ~10 a second, not a thousand
    final = [s for s in updates if "runs" in s][-1]
    assert final["runs"] == []  # the last state sent is the finished one
    assert page_rows(board)[task.id]["last"]["s"] == "succeeded"


async def test_every_user_string_travels_as_data_and_the_page_uses_text_only(
    sched: Scheduler,
) -> None:
    from pathlib import Path

    evil = "<img src=x onerror=alert(1)>"

    def fails(ctx: TaskContext) -> None:
        ctx.log("info", f"log {evil}")
        raise ValueError(f"bad {evil}")

    sched.register_handler("h", fails)
    task = sched.create_task(name=evil, handler="h", tags=[f"<b>{evil}</b>"],
                             trigger={"type": "event", "eventType": "x"})  # fmt: skip
    board = open_board(sched)
    await sched.wait_for(sched.run_task_now(task.id), timeout=5)
    click(board, "detail", id=task.id)
    click(board, "execution", id=board.detail["executions"][0]["id"])
    x = board.execution
    assert x["status"] == "failed" and evil in x["error"]
    assert "ValueError" in x["traceback"] and evil in x["traceback"]
    assert any(evil in line[3] for line in x["logs"])
    assert page_rows(board)[task.id]["name"] == evil  # data, never markup
    # ... so the page must put it in as text: board.js never uses innerHTML or friends
    js = (Path(__file__).parents[2] / "cognia_nb/jupyter/static/board.js").read_text()
    code = "\n".join(line for line in js.splitlines() if not line.lstrip().startswith("//"))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code, sink
    text = TextPanel(sched, "why")
    assert "<img" not in text._repr_html_()


async def test_detail_has_next_fire_times_with_the_offset_change(sched: Scheduler) -> None:
    from datetime import UTC, datetime

    sched.register_handler("h", lambda: None)
    task = sched.create_task(name="night", handler="h",
                             trigger={"type": "cron", "expression": "30 1 * * *",
                                      "timezone": "Europe/Berlin"})  # fmt: skip
    sched.clock.set_time(datetime(2026, 10, 22, 12, tzinfo=UTC))  # DST ends Oct 25
    board = open_board(sched)
    click(board, "detail", id=task.id)
    d = board.detail
    assert d["written"] == "cron '30 1 * * *' Europe/Berlin"
    assert d["words"] == "At 01:30 AM (Europe/Berlin)"
    texts = [n["text"] for n in d["next"]]
    assert texts[0] == "Fri 2026-10-23 01:30:00 CEST" and texts[2] == "Sun 2026-10-25 01:30:00 CEST"
    assert texts[3] == "Mon 2026-10-26 01:30:00 CET"
    assert [bool(n["change"]) for n in d["next"]] == [False, False, False, True, False]
    assert d["next"][3]["change"] == "UTC offset changes to +01:00"
    assert dict(map(tuple, d["settings"]))["timeout"] == "300 s per attempt"


async def test_a_thousand_tasks_are_one_widget_and_small_patches(sched: Scheduler) -> None:
    import json
    import time

    sched.register_handler("h", lambda: None)
    for i in range(1000):
        sched.create_task(
            name=f"task {i:04d}", handler="h", trigger={"type": "interval", "seconds": 3600}
        )
    before = RecordingComm.created
    t0 = time.perf_counter()
    board = Board(sched)
    click(board, "hello")
    built = time.perf_counter() - t0
    assert RecordingComm.created - before == 2  # the board and its Layout, not one per cell
    full = customs(board, "tasks")[-1]
    assert full["full"] and len(full["rows"]) == 1000
    assert len(json.dumps(full)) < 1000 * 600  # compact rows
    assert built < 5, built  # a liveness guard only; the benchmark measures it
    sched.pause_task("task 0500")
    board.throttle.flush()
    patch = customs(board, "tasks")[-1]
    assert not patch["full"] and [r["name"] for r in patch["rows"]] == ["task 0500"]


async def test_progress_updates_are_coalesced_and_end_on_the_final_state(
    sched: Scheduler,
) -> None:
    import asyncio
    import threading

    gate = threading.Event()

    def busy(ctx: TaskContext) -> None:
        for i in range(1, 1001):
            ctx.report_progress(i / 10)
        gate.wait(5)

    sched.register_handler("busy", busy)
    task = sched.create_task(
        name="busy", handler="busy", trigger={"type": "event", "eventType": "x"}
    )
    xid = sched.run_task_now(task.id)
    await asyncio.sleep(0)
    progress = ExecutionProgress(sched, xid)
    await asyncio.sleep(1.0)  # a thousand reports arrive within this second
    gate.set()
    await sched.wait_for(xid, timeout=5)
    await asyncio.sleep(0.01)
    updates = [s for s in states(progress.bar) if "value" in s]
    assert len(updates) <= 15, len(updates)
    assert updates[-1]["value"] == 100
    assert progress.bar.bar_style == "success"


async def test_header_and_the_text_fallback(sched: Scheduler) -> None:
    sched.register_handler("h", lambda: 1 / 0)
    task = sched.create_task(name="fails", handler="h", trigger={"type": "event", "eventType": "x"})
    board = open_board(sched)
    await sched.wait_for(sched.run_task_now(task.id), timeout=5)
    board.throttle.flush()
    assert board.header["tasks"] == 1 and board.header["failedDay"] == 1
    assert page_rows(board)[task.id]["state"] == "failing"
    assert page_rows(board)[task.id]["last"]["e"] == "ZeroDivisionError: division by zero"
    board.close()
    fallback = make_panel(sched)  # no kernel here: a text table, and why
    assert isinstance(fallback, TextPanel) and "no Jupyter front end" in repr(fallback)
    assert "fails" in repr(fallback)
    assert ipywidgets is not None


async def test_a_run_waiting_between_attempts_says_when_it_retries(sched: Scheduler) -> None:
    import asyncio

    calls = []

    async def flaky(ctx: TaskContext) -> None:
        calls.append(ctx.attempt_number)
        raise RuntimeError("first attempt fails")

    sched.register_handler("flaky", flaky)
    task = sched.create_task(name="flaky", handler="flaky",
                             trigger={"type": "event", "eventType": "x"},
                             retry={"maxAttempts": 3, "delaySeconds": 30})  # fmt: skip
    board = open_board(sched)
    xid = sched.run_task_now(task.id)
    for _ in range(50):
        await asyncio.sleep(0)
        if calls:
            break
    await sched.clock.advance(0)
    board.throttle.flush()  # what the one-second heartbeat does while runs are live
    (run,) = board.runs
    assert run["id"] == xid and run["attempt"] == 1 and run["attempts"] == 3
    assert run["retryAt"] == pytest.approx(sched.clock.now() + 30, abs=0.01)
    cancelled = sched.cancel_execution(xid)
    assert cancelled


async def test_one_board_per_scheduler_until_it_is_closed(sched: Scheduler) -> None:
    before = len(sched.hooks._listeners["task_create"])
    first = board_for(sched)
    assert board_for(sched) is first  # re-running the cell shows the same widget again
    assert len(sched.hooks._listeners["task_create"]) == before + 1
    first.close()
    assert len(sched.hooks._listeners["task_create"]) == before  # a closed board stops listening
    second = board_for(sched)
    assert second is not first and second.comm is not None


async def test_backfill_progress_in_the_row_and_batches_in_the_detail(sched: Scheduler) -> None:
    async def load(ctx: TaskContext) -> None:
        await ctx.sleep(60)

    task = sched.create_task(name="load", handler=load,
                             trigger={"type": "cron", "expression": "0 6 * * *",
                                      "timezone": "Europe/Berlin"})  # fmt: skip
    board = open_board(sched)
    click(board, "detail", id=task.id)
    assert board.detail["backfills"] == []
    batch = sched.backfill(task.id, "2023-12-01", "2023-12-11", dry_run=False)
    await sched.clock.advance(150)  # 60 s each, one at a time: two done, the third running
    board.throttle.flush()
    row = page_rows(board)[task.id]["backfill"]
    assert (row["done"], row["total"], row["status"]) == (2, 10, "running")
    assert row["first"] == "2023-12-01 06:00:00 CET" and row["last"] == "2023-12-10 06:00:00 CET"
    (shown,) = board.detail["backfills"]
    assert shown["id"] == batch.id and shown["done"] == 2
    await sched.clock.advance(60)
    board.throttle.flush()  # the count moved: the row is sent again
    assert page_rows(board)[task.id]["backfill"]["done"] == 3
    click(board, "cancel_backfill", id=batch.id)
    assert customs(board, "notice")[-1]["text"] == (
        "backfill of load cancelled: 7 due time(s) did not run"
    )
    await batch.wait()
    board.throttle.flush()
    assert "backfill" not in page_rows(board)[task.id]  # the row shows its last result again
    (done,) = board.detail["backfills"]  # the detail keeps the batch the scheduler let go of
    assert sched.backfills() == []
    assert (done["status"], done["done"], done["left"], done["failed"]) == ("cancelled", 3, 7, 0)
    click(board, "cancel_backfill", id="b_nope")
    assert customs(board, "notice")[-1]["text"] == "no backfill batch 'b_nope' on this board"
    assert customs(board, "notice")[-1]["level"] == "error"


async def test_an_event_task_detail_names_its_event(sched: Scheduler) -> None:
    sched.register_handler("h", lambda: None)
    task = sched.create_task(name="score", handler="h",
                             trigger={"type": "event", "eventType": "model:trained"})  # fmt: skip
    board = open_board(sched)
    click(board, "detail", id=task.id)
    assert board.detail["next"] == []
    assert board.detail["noNext"] == ("none: it runs on its event 'model:trained' (scheduler.emit)")


async def test_a_due_time_the_calendar_skips_reaches_the_row(sched: Scheduler) -> None:
    import asyncio
    from datetime import UTC, datetime

    today = datetime.fromtimestamp(sched.clock.now(), UTC).date()
    task = sched.create_task(name="closed", handler=lambda: None,
                             trigger={"type": "interval", "seconds": 2},
                             exclude=[today])  # fmt: skip
    board = open_board(sched)
    assert board._due is not None  # armed for the first due time
    await sched.clock.advance(5)  # two due times skipped: no hook fires for them
    assert task.excluded_count == 2
    assert page_rows(board)[task.id]["excluded"] == 0
    board._due.cancel()
    board._on_due()  # what the timer does (it waits in real time)
    board.throttle.flush()
    await asyncio.sleep(0)
    row = page_rows(board)[task.id]
    assert row["excluded"] == 2 and row["next"] == task.next_run_ts
