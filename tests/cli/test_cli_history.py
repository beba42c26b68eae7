"""``cognia-nb history`` on every store shape, as real processes on real SQLite files."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from cognia_nb import Scheduler, TaskContext
from cognia_nb.testing import FakeClock

from .test_cli import cli

OUTPUTS: list[Any] = [
    None, 0, 2.5, -7, True, "text", "", "ünïcødé ✓", [], [1, "two", None], {},
    {"nested": {"list": [1, {"deep": [True, None]}], "n": 1.5}}, "x" * 5000,
]  # fmt: skip


def build(path: Path, shape: str) -> None:
    """A store with executions of ``shape``: empty, success, failure, mixed."""

    async def make() -> None:
        clock = FakeClock(time.time())  # now: the CLI's retention keeps recent executions
        scheduler = Scheduler(store=str(path), clock=clock, timezone="UTC").start()

        async def handler(ctx: TaskContext) -> Any:
            i = ctx.args["i"]
            if shape == "failure" or (shape == "mixed" and i % 3 == 1):
                raise RuntimeError(f"broken {i}")
            metrics = {"rows": i, "ratio": i / 7, "label": f"m{i}"} if i % 2 else None
            return {"success": True, "output": OUTPUTS[i % len(OUTPUTS)], "metrics": metrics}

        scheduler.register_handler("h", handler)
        if shape != "bare":
            for i in range(len(OUTPUTS)):
                task = scheduler.create_task(
                    name=f"t{i}", handler="h", trigger={"type": "event", "eventType": "x"},
                    args={"i": i},
                )  # fmt: skip
                if shape != "empty":
                    await scheduler.wait_for(scheduler.run_task_now(task.id), timeout=5)
        await scheduler.stop()
        scheduler.close()

    asyncio.run(make())


@pytest.mark.parametrize("shape", ["bare", "empty", "success", "failure", "mixed"])
def test_history_reads_every_store_shape(tmp_path: Path, shape: str) -> None:
    path = tmp_path / f"{shape}.db"
    build(path, shape)
    table = cli("history", "--store", str(path))
    assert table.returncode == 0, table.stderr
    records = json.loads(cli("history", "--store", str(path), "--format", "json").stdout)
    rows = list(csv.DictReader(io.StringIO(
        cli("history", "--store", str(path), "--format", "csv").stdout)))  # fmt: skip
    expected = 0 if shape in ("bare", "empty") else len(OUTPUTS)
    assert len(records) == len(rows) == expected
    for record, row in zip(records, rows, strict=True):
        i = int(record["task_name"][1:])
        failed = shape == "failure" or (shape == "mixed" and i % 3 == 1)
        assert record["status"] == row["status"] == ("failed" if failed else "succeeded")
        if failed:
            assert record["error"] == row["error"] == f"RuntimeError: broken {i}"
            assert record["output"] is None and row["output"] == ""
            continue
        assert record["error"] is None and row["error"] == ""
        assert record["output"] == OUTPUTS[i % len(OUTPUTS)]  # JSON values, not reprs
        assert (json.loads(row["output"]) if row["output"] else None) == record["output"]
        if i % 2:
            assert record["metrics"] == {"rows": i, "ratio": pytest.approx(i / 7),
                                         "label": f"m{i}"}  # fmt: skip
            assert json.loads(row["metrics"])["label"] == f"m{i}"
        else:
            assert record["metrics"] == {} and json.loads(row["metrics"]) == {}
    if expected:
        assert "RuntimeError" in table.stdout if shape != "success" else "succeeded" in table.stdout


def test_history_of_an_unknown_task_speaks_cli(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    build(path, "success")
    result = cli("history", "--store", str(path), "--task", "nope")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "cognia-nb: error: no task 'nope' in the store; `cognia-nb tasks` lists the tasks in "
        "this store"
    )
    assert "list_tasks" not in result.stderr
    bad = cli("history", "--store", str(path), "--limit", "0")
    assert bad.returncode == 2 and "--limit must be a positive number" in bad.stderr


def test_debug_prints_the_traceback_of_an_unexpected_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    build(path, "success")
    import sqlite3

    with sqlite3.connect(path) as conn:  # a row no cognia_nb wrote: an unexpected error
        conn.execute("UPDATE executions SET metrics = '{bad'")
    plain = cli("history", "--store", str(path))
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert "cognia-nb: unexpected error: JSONDecodeError" in plain.stderr
    assert "run with --debug (or COGNIA_NB_DEBUG=1) for the traceback" in plain.stderr
    for args, env in ((("--debug", "history"), None), (("history",), {"COGNIA_NB_DEBUG": "1"})):
        debug = cli(*args, "--store", str(path), env=env)
        assert debug.returncode == 1
        assert "Traceback (most recent call last)" in debug.stderr
        assert "json.decoder.JSONDecodeError" in debug.stderr


def test_history_csv_and_json_carry_the_abandoned_flag(tmp_path: Path) -> None:
    path = tmp_path / "a.db"

    async def make() -> None:
        clock = FakeClock(int(time.time()))  # recent: the store's retention keeps it
        s = Scheduler(store=str(path), clock=clock, timezone="UTC", cancel_grace=1).start()
        release = asyncio.Event()

        async def stubborn(ctx: TaskContext) -> None:  # swallows its abort until released
            while not release.is_set():
                with contextlib.suppress(asyncio.CancelledError):
                    await release.wait()

        every_minute = {"type": "interval", "seconds": 60}
        s.create_task(name="good", handler=lambda: None, trigger=every_minute)
        s.create_task(name="stuck", handler=stubborn, trigger=every_minute, timeout=1)
        await clock.advance(60)  # both fire; good finishes at once
        # stuck: times out at 61, is cancelled at 62 and given up on at 63 (grace 1 s each)
        await clock.advance(4)
        assert s.abandoned_threads == 1
        release.set()
        await clock.advance(1)
        await s.stop()
        s.close()
        await clock.aclose()

    asyncio.run(make())
    records = json.loads(cli("history", "--store", str(path), "--format", "json").stdout)
    assert {r["task_name"]: r["abandoned"] for r in records} == {"good": False, "stuck": True}
    rows = list(csv.DictReader(io.StringIO(
        cli("history", "--store", str(path), "--format", "csv").stdout)))  # fmt: skip
    assert {r["task_name"]: (r["status"], r["abandoned"]) for r in rows} == {
        "good": ("succeeded", "false"), "stuck": ("timed_out", "true")}  # fmt: skip
