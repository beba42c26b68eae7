"""scheduler.history() / history_summary() / timeline() on both stores."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import pytest_asyncio

from cognia_nb import Scheduler, TaskContext, TaskValidationError
from cognia_nb.testing import FakeClock
from cognia_nb.testing.fixtures import stop_on_fake_clock

from .conftest import Place, open_place


async def work(ctx: TaskContext) -> dict[str, object]:
    await ctx.sleep(2)
    if ctx.task_name == "bad":
        raise RuntimeError("nope")
    return {"success": True, "output": {"rows": 7}, "metrics": {"rows": 7, "source": "db"}}


@pytest_asyncio.fixture(params=["memory", "sqlite", "postgres"])
async def busy(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scheduler]:
    store: Any = "memory"
    if request.param != "memory":
        store = open_place(request.param, request, tmp_path).store()
    clock = FakeClock()
    scheduler = Scheduler(store=store, clock=clock, timezone="UTC").start()
    scheduler.register_handler("w", work)
    scheduler.create_task(name="good", handler="w", trigger={"type": "interval", "seconds": 60})
    scheduler.create_task(name="bad", handler="w", trigger={"type": "interval", "seconds": 120})
    await clock.advance(605)  # the runs fired at 600 have finished too
    yield scheduler
    await scheduler.stop()
    scheduler.close()


async def test_history_frame_columns_and_types(busy: Scheduler) -> None:
    df = busy.history()
    assert df.index.name == "execution_id" and len(df) == 15
    for column in (
        "task_id",
        "task_name",
        "plugin_id",
        "trigger_kind",
        "status",
        "attempts",
        "missed",
        "scheduled_at",
        "started_at",
        "finished_at",
        "lateness",
        "duration",
        "progress",
        "error",
        "output",
        "metrics.rows",
        "metrics.source",
    ):
        assert column in df.columns, column
    assert isinstance(df["status"].dtype, pd.CategoricalDtype)
    for column in ("scheduled_at", "started_at", "finished_at"):
        dtype = df[column].dtype
        assert isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC"
    assert str(df["duration"].dtype).startswith("timedelta64")
    assert (df["duration"] == pd.Timedelta(seconds=2)).all()
    assert (df["lateness"] == pd.Timedelta(0)).all()
    good = df[df["task_name"] == "good"]
    assert (good["status"] == "succeeded").all() and len(good) == 10
    assert (good["metrics.rows"] == 7).all()
    bad = df[df["task_name"] == "bad"]
    assert (bad["status"] == "failed").all() and bad["error"].iloc[0] == "RuntimeError: nope"
    assert df["scheduled_at"].is_monotonic_increasing
    parsed = busy.history(task_id="good", parse_output=True)
    assert parsed["output"].iloc[0] == {"rows": 7}


async def test_history_filters(busy: Scheduler) -> None:
    assert len(busy.history(task_id="bad")) == 5
    assert len(busy.history(status="failed")) == 5
    assert len(busy.history(status=["failed", "succeeded"], limit=3)) == 3
    # created at 540 (good) and 600 (good and bad)
    assert len(busy.history(since=datetime(2024, 1, 1, 0, 9, tzinfo=UTC))) == 3
    assert len(busy.history(since="2024-01-01T00:09:00Z")) == 3
    with pytest.raises(TaskValidationError, match="status must be one of"):
        busy.history(status="weird")


async def test_history_summary_and_timeline(busy: Scheduler) -> None:
    summary = busy.history_summary()
    good = summary[summary["task_name"] == "good"].iloc[0]
    assert good["runs"] == 10 and good["success_rate"] == 1.0
    assert good["p50_duration"] == pd.Timedelta(seconds=2)
    assert good["last_status"] == "succeeded" and good["next_run"] is not pd.NaT
    bad = summary[summary["task_name"] == "bad"].iloc[0]
    assert bad["success_rate"] == 0.0
    fig = busy.timeline()
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["good", "bad"]
    assert len(fig.axes[0].patches) == 15


async def test_history_puts_what_people_read_first_and_ids_last(busy: Scheduler) -> None:
    columns = list(busy.history().columns)
    assert columns[:6] == ["task_name", "status", "scheduled_at", "started_at", "duration",
                           "error"]  # fmt: skip
    assert columns[-2:] == ["task_id", "plugin_id"]
    assert columns.index("metrics.rows") < columns.index("task_id")


async def test_summary_displays_rates_in_percent_and_durations_in_seconds(
    busy: Scheduler,
) -> None:
    summary = busy.history_summary()
    assert summary["success_rate"].dtype == float  # the data stay numbers
    with pd.option_context("display.width", 400, "display.max_columns", 40):
        text = repr(summary)
    assert "100.0 %" in text and "0.0 %" in text and "2.000 s" in text
    assert "days" not in text and "0.384" not in text
    html = summary._repr_html_()
    assert "<td>2 s</td>" in html and "<td>100.0 %</td>" in html and "days" not in html
    picked = summary[summary["runs"] > 0][["task_name", "success_rate", "p50_duration"]]
    assert picked["p50_duration"].iloc[0] == pd.Timedelta(2, "s")  # the data are unchanged
    assert "100.0 %" in repr(picked) and "<td>2 s</td>" in picked._repr_html_()
    described = repr(summary.describe())  # not per task any more: shown as plain numbers
    assert "count" in described and " %" not in described


async def test_timeline_is_a_png_with_the_legend_outside_and_visible_short_runs(
    tmp_path: Path,
) -> None:
    async def quick(ctx: TaskContext) -> None:
        await ctx.sleep(0.01 if ctx.task_name == "quick" else 600)

    clock = FakeClock()
    scheduler = Scheduler(store=str(tmp_path / "t.db"), clock=clock, timezone="UTC").start()
    scheduler.register_handler("q", quick)
    scheduler.create_task(name="quick", handler="q", trigger={"type": "interval", "seconds": 900})
    scheduler.create_task(name="slow", handler="q", trigger={"type": "interval", "seconds": 3600})
    await clock.advance(7300)
    fig = scheduler.timeline()
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    ax = fig.axes[0]
    assert ax.get_legend() is None and len(fig.legends) == 1  # a figure legend, beside the axes
    fig.canvas.draw()
    legend_box = fig.legends[0].get_window_extent()
    assert legend_box.x0 >= ax.get_window_extent().x1  # right of the bars, never over them
    span = max(p.get_x() + p.get_width() for p in ax.patches) - min(p.get_x() for p in ax.patches)
    narrowest = min(p.get_width() for p in ax.patches)
    assert narrowest >= 0.003 * span  # a 10 ms run on a two-hour axis is still drawn
    await stop_on_fake_clock(scheduler, clock)  # "slow" is still running: stop's grace passes
    scheduler.close()
    empty = Scheduler(store="memory", clock=FakeClock(), timezone="UTC").timeline()
    assert empty._repr_png_().startswith(b"\x89PNG")


async def test_empty_history(tmp_path: Path) -> None:
    scheduler = Scheduler(store=str(tmp_path / "e.db"), clock=FakeClock(), timezone="UTC")
    df = scheduler.history()
    assert len(df) == 0 and "status" in df.columns
    scheduler.close()


async def _mixed(store: Any) -> pd.DataFrame:
    """Runs of every shape: succeeded with metrics, failed, still running with progress."""

    async def slow(ctx: TaskContext) -> None:
        ctx.report_progress(42.125)
        await ctx.sleep(1000)

    clock = FakeClock()
    scheduler = Scheduler(store=store, clock=clock, timezone="UTC").start()
    scheduler.register_handler("w", work)
    scheduler.register_handler("slow", slow)
    scheduler.create_task(name="good", handler="w", trigger={"type": "interval", "seconds": 60})
    scheduler.create_task(name="bad", handler="w", trigger={"type": "interval", "seconds": 90})
    scheduler.create_task(name="slow", handler="slow", trigger={"type": "interval", "seconds": 300})
    await clock.advance(301.5)
    scheduler.run_task_now("good")
    await clock.advance(3)
    df = scheduler.history()
    await scheduler.stop(grace=0)  # the slow one is still running: cancel it at once
    scheduler.close()
    return df.reset_index(drop=True)


async def test_history_is_the_same_from_both_stores(place: Place) -> None:
    memory, sqlite = await _mixed("memory"), await _mixed(place.store())
    pd.testing.assert_frame_equal(memory, sqlite)
    running = sqlite[sqlite["task_name"] == "slow"].iloc[0]
    assert running["status"] == "running" and running["progress"] == 42.125
    assert running["finished_at"] is pd.NaT and running["started_at"] is not pd.NaT
    assert set(sqlite["trigger_kind"]) == {"schedule", "manual"}
    assert sqlite["scheduled_at"].iloc[0] == pd.Timestamp("2024-01-01T00:01:00Z")


async def test_history_reads_again_when_a_write_lands_between_its_halves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cognia_nb.stores import _sqlite_history

    path = str(tmp_path / "r.db")
    clock = FakeClock()
    scheduler = Scheduler(store=path, clock=clock, timezone="UTC").start()
    scheduler.register_handler("w", work)
    scheduler.create_task(name="good", handler="w", trigger={"type": "interval", "seconds": 60})
    await clock.advance(185)
    scheduler.store.flush()
    columns = _sqlite_history._Reader.columns
    calls = []

    def columns_then_write(self: object, half: int, conn: object) -> list[object]:
        out = columns(self, half, conn)  # type: ignore[arg-type]
        calls.append(half)
        if len(calls) == 1:  # another writer commits one more row after the first half
            import sqlite3

            with sqlite3.connect(path) as other:
                other.execute(
                    "INSERT INTO executions (id, task_id, plugin_id, task_name, trigger_kind, "
                    "status, attempt, created_ts, scheduled_ts) "
                    "SELECT 'x_extra', task_id, plugin_id, task_name, trigger_kind, status, "
                    "attempt, created_ts + 1, scheduled_ts + 1 FROM executions LIMIT 1"
                )
        return out

    class InOrder:  # run the "parallel" half first and to its end: the write lands in between
        def __init__(self, _workers: int) -> None:
            pass

        def __enter__(self) -> InOrder:
            return self

        def __exit__(self, *_: object) -> None:
            pass

        def submit(self, fn: Any, *args: Any) -> Any:
            from concurrent.futures import Future

            future: Future[Any] = Future()
            future.set_result(fn(*args))
            return future

    monkeypatch.setattr(_sqlite_history._Reader, "columns", columns_then_write)
    monkeypatch.setattr(_sqlite_history, "ThreadPoolExecutor", InOrder)
    df = scheduler.history()
    assert calls == [1, 0, 0, 1]  # both halves, then both again in one snapshot
    assert len(df) == 4 and "x_extra" in df.index
    assert df["scheduled_at"].notna().all() and df["task_name"].eq("good").all()
    await scheduler.stop()
    scheduler.close()


@pytest.mark.parametrize("store", ["memory", "sqlite", "postgres"])
async def test_history_marks_abandoned_executions(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    clock = FakeClock()
    path: Any = store if store == "memory" else open_place(store, request, tmp_path).store()
    scheduler = Scheduler(store=path, clock=clock, timezone="UTC", cancel_grace=1).start()
    release = asyncio.Event()

    async def stubborn(ctx: TaskContext) -> None:  # swallows its abort until released
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await release.wait()

    scheduler.register_handler("w", work)
    scheduler.register_handler("stubborn", stubborn)
    scheduler.create_task(name="good", handler="w", trigger={"type": "interval", "seconds": 60})
    stuck = scheduler.create_task(
        name="stuck", handler="stubborn", trigger={"type": "interval", "seconds": 60}, timeout=1
    )
    await clock.advance(60)  # both fire; good finishes at 62
    await clock.advance(3)  # stuck: timed out at 61, abandoned at 62 (grace 1 s)
    assert scheduler.abandoned_threads == 1
    release.set()
    await clock.advance(1)
    assert scheduler.abandoned_threads == 0
    scheduler.store.flush()
    df = scheduler.history()
    assert df["abandoned"].dtype == bool
    by_name = df.groupby("task_name", observed=True)["abandoned"].apply(list).to_dict()
    assert by_name == {"good": [False], "stuck": [True]}
    row = df[df["abandoned"]].iloc[0]
    assert row["status"] == "timed_out" and "abandoned" in row["error"]
    assert scheduler.get_executions(stuck.id)[0].abandoned  # the same flag, read back
    await scheduler.stop()
    scheduler.close()
    await clock.aclose()
