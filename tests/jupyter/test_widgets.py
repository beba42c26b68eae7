"""Widget-model tests with a recording comm: what would reach the browser."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

import ipywidgets
import pytest
from ipywidgets import Widget

from cognia_nb import ExecutionStatus, Scheduler, TaskContext
from cognia_nb.jupyter._panel import Panel, TextPanel, make_panel
from cognia_nb.jupyter._progress import ExecutionProgress
from cognia_nb.jupyter._table import TaskTable
from cognia_nb.testing import FakeClock


class RecordingComm:
    """Stands in for the kernel's comm: records every message a widget sends."""

    comm_id = "test-comm"
    kernel = "present"
    sent: typing.ClassVar[list[dict[str, Any]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.messages: list[Any] = []

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
    await s.stop()
    s.close()


def states(widget: Widget) -> list[dict[str, Any]]:
    return [m["state"] for m in widget.comm.messages
            if isinstance(m, dict) and m.get("method") == "update"]  # fmt: skip


async def test_rows_appear_and_update(sched: Scheduler) -> None:
    sched.register_handler("h", lambda: None)
    table = TaskTable(sched, page_size=10)
    assert table.rows[0].box.layout.display == "none"
    task = sched.create_task(
        name="first", handler="h", tags=["etl"], trigger={"type": "interval", "seconds": 60}
    )
    table.throttle.flush()
    first = table.rows[0]
    assert first.task_id == task.id and first.box.layout.display == "flex"
    assert "first" in first.cells[0].value and "Every minute" in first.cells[2].value
    assert list(table.tag.options) == ["(all)", "etl"]
    sched.pause_task(task.id)
    table.throttle.flush()
    assert "paused" in first.cells[3].value and first.toggle.description == "Resume"


async def test_buttons_call_the_scheduler(sched: Scheduler) -> None:
    async def work(ctx: TaskContext) -> str:
        return "done"

    sched.register_handler("h", work)
    task = sched.create_task(name="t", handler="h", trigger={"type": "interval", "seconds": 60})
    table = TaskTable(sched, page_size=5)
    row = table.rows[0]
    row.run.click()
    (ex,) = sched.get_executions(task.id)
    await sched.wait_for(ex.id, timeout=5)
    assert ex.status is ExecutionStatus.SUCCEEDED
    row.toggle.click()
    assert sched.get_task(task.id).status == "paused"
    row.toggle.click()
    assert sched.get_task(task.id).status == "active"
    row.delete.click()  # first click asks for confirmation
    assert row.delete.description == "Confirm?" and sched.list_tasks() == [task]
    row.delete.click()
    assert sched.list_tasks() == []


@pytest.mark.filterwarnings("ignore:Widget.widgets is deprecated")
async def test_paging_keeps_a_thousand_tasks_to_one_page_of_widgets(sched: Scheduler) -> None:
    sched.register_handler("h", lambda: None)
    for i in range(1000):
        sched.create_task(
            name=f"task {i:04d}", handler="h", trigger={"type": "interval", "seconds": 3600}
        )
    before = len(Widget.widgets)
    table = TaskTable(sched)
    created = len(Widget.widgets) - before
    assert created < 50 * 12 + 40  # one page of rows, not a thousand
    assert table.page_label.value == "page 1/20 · 1000 task(s)"
    table.turn(3)
    assert "task 0150" in table.rows[0].cells[0].value
    table.status.value = "paused"
    assert table.page_label.value == "page 1/1 · 0 task(s)"


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


async def test_user_strings_are_escaped(sched: Scheduler) -> None:
    evil = "<img src=x onerror=alert(1)>"
    sched.register_handler("h", lambda: None)
    task = sched.create_task(
        name=evil, handler="h", tags=["<b>tag</b>"], trigger={"type": "interval", "seconds": 60}
    )
    table = TaskTable(sched)
    cell = table.rows[0].cells[0].value
    assert "<img" not in cell and "&lt;img src=x onerror=alert(1)&gt;" in cell
    panel = Panel(sched)
    sched.run_task_now(task.id)
    panel.refresh_history(plot=False)
    assert "<img" not in panel.history_html.value
    text = TextPanel(sched, "why")
    assert "<img" not in text._repr_html_()


async def test_panel_header_and_fallback(sched: Scheduler) -> None:
    sched.register_handler("h", lambda: 1 / 0)
    task = sched.create_task(name="fails", handler="h", trigger={"type": "event", "eventType": "x"})
    panel = Panel(sched)
    await sched.wait_for(sched.run_task_now(task.id), timeout=5)
    panel.header_throttle.flush()
    assert "1 task(s)" in panel.header.value and "1 failed in the last day" in panel.header.value
    fallback = make_panel(sched)  # no kernel here: a text table, and why
    assert isinstance(fallback, TextPanel) and "no Jupyter front end" in repr(fallback)
    assert ipywidgets is not None
