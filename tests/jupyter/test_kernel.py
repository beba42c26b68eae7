"""The Jupyter integration in real kernels (jupyter_client), one kernel per module."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cognia_nb import ExecutionStatus
from cognia_nb.stores import SQLiteStore

from .kernel_helpers import Kernel

pytestmark = pytest.mark.timeout(180)


def kernel_env(store: Path) -> dict[str, str]:
    return {**os.environ, "COGNIA_NB_STORE": str(store),
            "JPY_SESSION_NAME": "/work/notebooks/demo.ipynb",
            "PYTHONPATH": os.pathsep.join(sys.path)}  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kernel") / "k.db"


@pytest.fixture(scope="module")
def kernel(store: Path) -> Iterator[Kernel]:
    k = Kernel(kernel_env(store))
    k.check(
        "%load_ext cognia_nb\nimport cognia_nb, time, asyncio\nsched = cognia_nb.get_scheduler()"
    )
    yield k
    k.shutdown()


def history_count(kernel: Kernel, name: str, status: str = "succeeded") -> int:
    out = kernel.check(f"df = sched.history({name!r})\nint((df['status'] == {status!r}).sum())")
    return int(out.result or 0)


TICK = "%%cognia_task tick --interval 1\nreturn time.time()\n"


def test_1_interval_task_runs_in_the_background(kernel: Kernel) -> None:
    out = kernel.check(TICK)
    (card,) = out.displays  # the task's live card (display_data, updated in place)
    assert "tick" in card["text/plain"] and "Every second" in card["text/plain"]
    assert "cognia-card" in card["text/html"] and "cc-rows" in card["text/html"]
    time.sleep(3)
    assert history_count(kernel, "tick") >= 2


def test_2_rerunning_the_cell_never_duplicates(kernel: Kernel) -> None:
    for _ in range(3):
        kernel.check(TICK)
    time.sleep(0.2)
    before = kernel.check("len(sched.list_tasks()), sched.get_task('tick').run_count").result
    time.sleep(3)
    out = kernel.check(
        "df = sched.history('tick')\n"
        "s = df['scheduled_at'].sort_values()\n"
        "(len(sched.list_tasks()), int(s.duplicated().sum()), "
        "float(s.diff().dt.total_seconds().iloc[-3:].min()))"
    )
    count, duplicates, min_gap = eval(out.result or "")
    assert count == 1 and duplicates == 0 and min_gap >= 0.99, (before, out.result)


def test_3_a_blocking_cell_gives_one_coalesced_late_run(kernel: Kernel) -> None:
    kernel.check("sched.pause_task('tick')")
    kernel.check("%%cognia_task beat --interval 1\nreturn 1\n")
    time.sleep(1.5)
    blocked = kernel.check("time.sleep(3.2)")
    assert blocked.seconds >= 3.1
    answer = kernel.check("1 + 1")
    assert answer.result == "2" and answer.seconds < 1.0  # the kernel answers at once
    time.sleep(0.5)
    out = kernel.check("df = sched.history('beat')\nint(df['missed'].max())")
    assert int(out.result or 0) >= 2
    kernel.check("sched.pause_task('beat')")


def test_4_a_slow_sync_handler_does_not_delay_cells(kernel: Kernel) -> None:
    kernel.check("%%cognia_task slow --event never\ntime.sleep(3)\nreturn 'slept'\n")
    kernel.check("xid = sched.run_task_now('slow')")
    time.sleep(0.3)
    worst = max(kernel.check("sum(range(1000))").seconds for _ in range(10))
    assert worst < 0.1, worst
    time.sleep(3)
    assert kernel.check("sched.get_execution(xid).output").result == "'slept'"


def test_6_print_lands_in_the_defining_cells_card_and_the_log(kernel: Kernel) -> None:
    defining = kernel.check("%%cognia_task talk --event talk\nprint('hello from talk')\n")
    kernel.check("xid = sched.emit('talk')[0]")
    other = kernel.check("time.sleep(0.5); 'other cell'")
    kernel.collect(0.5)
    assert "hello from talk" not in other.stdout
    assert "hello from talk" not in kernel.late.get(defining.msg_id, "")  # no growing cell
    card = kernel.check("from cognia_nb.jupyter._card import _cards\n"
                        "_cards[sched.get_task('talk').id].bundle()['text/plain']")  # fmt: skip
    assert "hello from talk" in (card.result or "")
    logs = kernel.check("[e.message for e in sched.get_execution(xid).logs]").result
    assert "hello from talk" in (logs or "")


def test_5_restart_restores_tasks_history_and_pause(kernel: Kernel) -> None:
    kernel.check("sched.pause_task('talk')")
    before = int(kernel.check("len(sched.history('tick'))").result or 0)
    kernel.restart()
    kernel.check("%load_ext cognia_nb\nimport cognia_nb, time\nsched = cognia_nb.get_scheduler()")
    kernel.check("%%cognia_task talk --event talk\nprint('hello from talk')\n")
    out = kernel.check("t = sched.get_task('talk')\n(str(t.status), len(sched.history('tick')))")
    status, after = eval(out.result or "")
    assert status == "paused" and after >= before > 0


def test_7_shutdown_while_running_records_it(tmp_path: Path) -> None:
    store = tmp_path / "shutdown.db"
    k = Kernel(kernel_env(store))
    try:
        k.check("%load_ext cognia_nb\nimport cognia_nb\nsched = cognia_nb.get_scheduler()")
        k.check("%%cognia_task quick --event q\nreturn 'fine'\n")
        done = k.check("xid = sched.run_task_now('quick')").msg_id
        k.check("import asyncio\nawait sched.wait_for(xid, 5)")
        k.check("%%cognia_task long --event l\nimport asyncio\nawait asyncio.sleep(60)\n")
        k.check("lid = sched.run_task_now('long')")
        ids = k.check("(xid, lid)").result
        _ = done
    finally:
        started = time.time()
        k.shutdown()
        took = time.time() - started
    xid, lid = eval(ids or "")
    reopened = SQLiteStore(store)
    reopened.open()
    quick = reopened.get_execution(xid)
    long = reopened.get_execution(lid)
    assert quick is not None and quick.status is ExecutionStatus.SUCCEEDED
    assert long is not None and long.status in (ExecutionStatus.CANCELLED,
                                                ExecutionStatus.INTERRUPTED)  # fmt: skip
    reopened.close()
    assert took < 10
