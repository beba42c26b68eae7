"""%cognia explain (and the other analyst subcommands) in a testing shell."""

from __future__ import annotations

import asyncio

import pytest
from IPython.core.error import UsageError

from .conftest import TestingShell


async def test_explain_magic_returns_the_frame(ip: TestingShell) -> None:
    await ip.run("%%cognia_task nightly --cron '30 2 * * *' --tz America/New_York\nreturn 1\n")
    frame = await ip.run("%cognia explain nightly 3")
    assert len(frame) == 3
    assert all(t.strftime("%H:%M") in ("02:30", "03:00") for t in frame["local"])
    assert list(frame.columns)[:2] == ["local", "utc"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%cognia explain", r"usage: %cognia explain NAME \[N\]"),
        ("%cognia explain a b", r"usage: %cognia explain NAME \[N\]"),
        ("%cognia explain nope", r"no task with id 'nope'"),
    ],
)
async def test_explain_magic_errors(ip: TestingShell, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        await ip.run(line)


async def test_metrics_magic_serves_on_localhost(ip: TestingShell) -> None:
    import urllib.request

    from prometheus_client import REGISTRY

    await ip.run("%%cognia_task job --interval 60\nreturn 1\n")
    url = await ip.run("%cognia metrics 0")
    try:
        assert url.startswith("http://127.0.0.1:")
        assert await ip.run("%cognia metrics") == url  # one server per session
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())
        assert b'cognia_tasks{status="active"} 1.0' in body
    finally:
        server = ip.shell.magics_manager.registry["CogniaMagics"]._metrics_server
        server.close()
        server.exporter.close()
    assert "cognia_tasks" not in {m.name for m in REGISTRY.collect()}


async def test_cell_task_policy_options(ip: TestingShell) -> None:
    import cognia_nb

    await ip.run("%%cognia_task guarded --interval 60 --max-failures 2 --exclude 2025-12-24 "
                 "--exclude 2025-12-27..2025-12-31 --exclude-holidays DE-BY "
                 "--window 'Mon-Fri 08:00-18:00'\nreturn 1\n")  # fmt: skip
    task = cognia_nb.get_scheduler().get_task("guarded")
    assert task.max_consecutive_failures == 2
    assert task.calendar is not None
    assert [w.text for w in task.calendar.windows] == ["Mon-Fri 08:00-18:00"]
    assert [code for code, _ in task.calendar.holidays] == ["DE-BY"]
    with pytest.raises(UsageError, match=r"max_consecutive_failures must be an integer"):
        await ip.run("%%cognia_task bad --interval 60 --max-failures 0\nreturn 1\n")
    with pytest.raises(UsageError, match=r"windows: 'Mon-Fry 08:00-18:00' is not a window"):
        await ip.run("%%cognia_task bad --interval 60 --window 'Mon-Fry 08:00-18:00'\nreturn 1\n")


async def test_backfill_magic_lists_then_runs(ip: TestingShell) -> None:
    import cognia_nb

    await ip.run(
        "%%cognia_task daily --cron '0 6 * * *' --tz UTC\n"
        "import asyncio\nawait asyncio.sleep(0)\nreturn context.scheduled_at.day\n"
    )
    frame = await ip.run("%cognia backfill daily 2024-01-01 2024-01-04")
    assert list(frame["action"]) == ["run"] * 3
    batch = await ip.run("%cognia backfill daily 2024-01-01 2024-01-04 --run")
    await batch.wait()
    runs = cognia_nb.get_scheduler().get_executions("daily", limit=10)
    assert sorted(r.output for r in runs) == [1, 2, 3]
    with pytest.raises(UsageError, match=r"usage: %cognia backfill NAME START END \[--run\]"):
        await ip.run("%cognia backfill daily 2024-01-01")
