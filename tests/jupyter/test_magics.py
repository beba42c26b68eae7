"""The magics in a testing shell: every %%cognia_task option and %cognia subcommand."""

from __future__ import annotations

import asyncio
import sys
import traceback

import pytest
from IPython.core.error import UsageError

import cognia_nb
from cognia_nb import ExecutionStatus, TaskStatus

from .conftest import TestingShell


async def test_cell_task_runs_in_a_thread_and_returns(ip: TestingShell) -> None:
    summary = await ip.run(
        "%%cognia_task refresh --interval 300 --tags etl,daily --description 'reload'\n"
        "import threading\n"
        "rows = args or 3\n"
        "context.report_progress(50, 'half')\n"
        "return {'rows': rows, 'thread': threading.current_thread().name}\n"
    )
    text = repr(summary)
    assert "refresh" in text and "Every 5 minutes" in text and "active" in text
    assert "cognia-card" in summary._repr_html_() and "cc-rows" in summary._repr_html_()
    scheduler = cognia_nb.get_scheduler()
    task = scheduler.get_task("refresh")
    assert task.tags == ("etl", "daily") and task.description == "reload"
    assert task.plugin_id == "notebook:/work/test.ipynb"
    ex = await scheduler.wait_for(scheduler.run_task_now(task.id), timeout=10)
    assert ex.status is ExecutionStatus.SUCCEEDED, ex.traceback
    assert ex.output["rows"] == 3 and ex.output["thread"].startswith("cognia_nb-handler")
    assert ex.progress == 50


async def test_await_makes_it_async_on_the_loop(ip: TestingShell) -> None:
    await ip.run(
        "%%cognia_task poll --interval 60\n"
        "import asyncio\n"
        "await asyncio.sleep(0)\n"
        "loop = asyncio.get_running_loop()\n"
        "loop is not None\n"
    )
    scheduler = cognia_nb.get_scheduler()
    ex = await scheduler.wait_for(scheduler.run_task_now("poll"), timeout=10)
    assert ex.status is ExecutionStatus.SUCCEEDED and ex.output is True


async def test_rerun_updates_in_place(ip: TestingShell) -> None:
    for description in ("one", "two", "three"):
        await ip.run(f"%%cognia_task job --cron '*/5 * * * *' --tz Europe/Berlin "
                     f"--description {description}\nreturn '{description}'\n")  # fmt: skip
    scheduler = cognia_nb.get_scheduler()
    (task,) = scheduler.list_tasks()
    assert task.description == "three"
    assert task.trigger.describe() == "Every 5 minutes (Europe/Berlin)"
    ex = await scheduler.wait_for(scheduler.run_task_now(task.id), timeout=10)
    assert ex.output == "three"  # the latest body


async def test_options(ip: TestingShell) -> None:
    await ip.run(
        "%%cognia_task later --once-at 2099-01-01T00:00:00Z --paused --retry 2 "
        "--retry-delay 5 --timeout none --overlap queue --misfire skip\nreturn 1\n"
    )
    scheduler = cognia_nb.get_scheduler()
    task = scheduler.get_task("later")
    assert task.status is TaskStatus.PAUSED and task.timeout is None
    assert task.retry.max_attempts == 3 and task.retry.delay_seconds == 5
    assert str(task.overlap) == "queue" and str(task.misfire) == "skip"
    summary = await ip.run("%%cognia_task on_event --event data:ready --event-source etl "
                           "--run-now\nreturn context.event")  # fmt: skip
    assert "--run-now started execution x_" in repr(summary)
    first = scheduler.get_latest_execution("on_event")
    assert first is not None
    await scheduler.wait_for(first.id, timeout=5)
    (xid,) = scheduler.emit("data:ready", {"n": 1}, source="etl")
    assert (await scheduler.wait_for(xid, timeout=5)).output.payload == {"n": 1}


async def test_magics_inside_the_body_and_tracebacks(ip: TestingShell) -> None:
    await ip.run("%%cognia_task timed --interval 60\nvalue = %time sum(range(5))\nreturn value\n")
    scheduler = cognia_nb.get_scheduler()
    ex = await scheduler.wait_for(scheduler.run_task_now("timed"), timeout=10)
    assert ex.status is ExecutionStatus.SUCCEEDED and ex.output == 10, ex.traceback
    assert any("Wall time" in e.message for e in ex.logs)  # %time's report, captured
    await ip.run("%%cognia_task broken --interval 60\na = 1\nb = 0\nreturn a / b\n")
    ex = await scheduler.wait_for(scheduler.run_task_now("broken"), timeout=10)
    assert ex.status is ExecutionStatus.FAILED and "ZeroDivisionError" in (ex.error or "")
    # The traceback names the cell's line 4 and shows its source.
    assert "line 4, in broken" in (ex.traceback or "")
    assert "return a / b" in (ex.traceback or "")


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            "%%cognia_task x --interval 60\nyield 1\n",
            r"'yield' on line 2 of the cell.*use 'return'",
        ),
        ("%%cognia_task x --interval 60\nif True\n", r"syntax error on line 2"),
        ("%%cognia_task x --interval 60\n", r"the cell has no body|cell body is empty"),
        ("%%cognia_task x --interval 60\n# only a comment\n", r"the cell has no body"),
        ("%%cognia_task x\nreturn 1\n", r"exactly one of --cron, --interval"),
        ("%%cognia_task x --cron '61 * * * *'\nreturn 1\n", r"minute field: 61 is out of range"),
        ("%%cognia_task x --interval 60 --tz UTC\nreturn 1\n", r"--tz only applies to --cron"),
        ("%%cognia_task x --interval -1\nreturn 1\n", r"0 < seconds"),
        ("%%cognia_task x --interval 5 --timeout soon\nreturn 1\n", r"--timeout must be"),
        ("%%cognia_task x --interval 5 --overlap sometimes\nreturn 1\n", r"overlap must be one"),
        ("%%cognia_task x --once-at tomorrow\nreturn 1\n", r"not an ISO 8601"),
    ],
)
async def test_cell_errors_are_usage_errors(ip: TestingShell, cell: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        await ip.run(cell)
    assert cognia_nb.get_scheduler().list_tasks() == []


async def test_cognia_line_magic(ip: TestingShell, capsys: pytest.CaptureFixture[str]) -> None:
    await ip.run("%%cognia_task 'a task' --interval 60\nreturn 'done'\n")
    table = await ip.run("%cognia list")
    assert "a task" in repr(table) and "Every minute" in repr(table)
    assert "in 60 s" in repr(table) or "in 59 s" in repr(table)
    assert "a task" in table._repr_html_()
    assert "<td style='text-align:left'>a task</td>" in table._repr_html_()  # words read left
    assert table._cell(1, "notebook:/a/b/x.ipynb", "") == (
        "<td title='notebook:/a/b/x.ipynb'>notebook:x.ipynb</td>"
    )  # the plugin by its file name, the whole id on hover
    paused = await ip.run("%cognia pause 'a task'")
    assert "paused" in repr(paused)
    resumed = await ip.run("%cognia resume 'a task'")
    assert "active" in repr(resumed)
    progress = await ip.run("%cognia run 'a task'")  # no kernel: prints the id
    scheduler = cognia_nb.get_scheduler()
    (ex,) = scheduler.get_executions("a task")
    await scheduler.wait_for(ex.id, timeout=5)
    assert progress is None and ex.id in capsys.readouterr().out
    frame = await ip.run("%cognia history 'a task'")
    assert list(frame["status"]) == ["succeeded"]
    await ip.run("%%cognia_task listener --event ping\nreturn context.event.payload\n")
    ids = await ip.run("%cognia emit ping '{\"n\": 2}'")
    assert repr(ids).startswith("event 'ping' (source 'user') started 1 task:")
    assert f"listener  execution {ids[0]}" in repr(ids)
    assert "<td>listener</td>" in ids._repr_html_()
    done = await scheduler.wait_for(ids[0], timeout=5)
    assert done.output == {"n": 2}
    nobody = await ip.run("%cognia emit nobody:listens")
    assert nobody == [] and "no active task listens to it" in repr(nobody)
    await ip.run("%cognia delete listener")
    assert [t.name for t in scheduler.list_tasks()] == ["a task"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%cognia", r"usage: %cognia list"),
        ("%cognia frobnicate", r"unknown command 'frobnicate'"),
        ("%cognia pause", r"usage: %cognia pause NAME"),
        ("%cognia pause nope", r"no task with id 'nope'"),
        ("%cognia emit", r"usage: %cognia emit TYPE"),
        ("%cognia emit ping {bad", r"payload is not JSON"),
        ("%cognia emit 'bad type!'", r"eventType"),
        ("%cognia history a b", r"usage: %cognia history"),
    ],
)
async def test_line_magic_errors(ip: TestingShell, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        await ip.run(line)


async def test_print_goes_to_the_execution_log(ip: TestingShell) -> None:
    await ip.run("%%cognia_task chatty --interval 60\nprint('hello', 'from', 'the task')\n"
                 "print('second line')\n")  # fmt: skip
    scheduler = cognia_nb.get_scheduler()
    ex = await scheduler.wait_for(scheduler.run_task_now("chatty"), timeout=10)
    assert [(e.level, e.message) for e in ex.logs] == [("stdout", "hello from the task"),
                                                       ("stdout", "second line")]  # fmt: skip
    assert not isinstance(sys.stdout, type(None))


async def test_decorator_in_a_cell(ip: TestingShell) -> None:
    await ip.run(
        "import cognia_nb\n@cognia_nb.task(interval=30)\ndef tick(context):\n    return 'tock'\n"
    )
    await ip.run("@cognia_nb.task(interval=30)\ndef tick(context):\n    return 'tock2'\n")
    scheduler = cognia_nb.get_scheduler()
    (task,) = scheduler.list_tasks()
    ex = await scheduler.wait_for(scheduler.run_task_now(task.id), timeout=10)
    assert ex.output == "tock2"


async def test_cell_executed_event(ip: TestingShell) -> None:
    await ip.run("%%cognia_task seen --event cell:executed --event-source kernel\n"
                 "return context.event.payload['executionCount']\n")  # fmt: skip
    await ip.run("1 + 1")
    await asyncio.sleep(0.05)
    scheduler = cognia_nb.get_scheduler()
    runs = scheduler.get_executions("seen")
    assert runs and all(r.trigger_kind == "event" for r in runs)


async def test_load_is_idempotent_and_unload_stops(ip: TestingShell) -> None:
    first = cognia_nb.get_scheduler()
    await ip.run("%load_ext cognia_nb")
    await ip.run("%reload_ext cognia_nb")
    assert cognia_nb.get_scheduler().running
    _ = first, traceback


async def test_cognia_list_counts_abandoned_handlers_still_running(ip: TestingShell) -> None:
    release = ip.ns["release"] = asyncio.Event()
    await ip.run(
        "%%cognia_task stubborn --interval 600\n"
        "import asyncio, contextlib\n"
        "while not release.is_set():  # swallows its cancellation until released\n"
        "    with contextlib.suppress(asyncio.CancelledError):\n"
        "        await release.wait()\n"
    )
    scheduler = cognia_nb.get_scheduler()
    assert "abandoned" not in repr(await ip.run("%cognia list"))
    execution_id = scheduler.run_task_now("stubborn")
    for _ in range(100):
        await asyncio.sleep(0)
    assert scheduler.cancel_execution(execution_id)
    ex = await scheduler.wait_for(execution_id, timeout=10)  # ends after the 1 s grace
    assert ex.abandoned and ex.status is ExecutionStatus.CANCELLED
    table = await ip.run("%cognia list")
    message = "1 abandoned handler is still running"
    assert message in repr(table) and repr(table).startswith("name")
    assert f"<p class='cognia-abandoned'>{message}" in table._repr_html_()
    release.set()
    for _ in range(1000):
        if scheduler.abandoned_threads == 0:
            break
        await asyncio.sleep(0)
    assert scheduler.abandoned_threads == 0
    assert "abandoned" not in repr(await ip.run("%cognia list"))
