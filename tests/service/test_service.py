"""``cognia-nb run NOTEBOOK.ipynb`` and ``cognia-nb status``, as real processes and kernels."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.jupyter.kernel_helpers import Kernel

from .helpers import Service, env, executions, write_notebook

SETUP = "%load_ext cognia_nb\nimport time\nimport cognia_nb as cn\nprint('setup done')"
TICK = """@cn.task(interval=1)
def tick():
    print('tick says hi')
    cn.get_scheduler().emit('tick:done', {'n': 1})
    return 1"""
TOCK = "%%cognia_task tock --interval 1\nprint('tock line')\nreturn 'tock'"
ON_TICK = "%%cognia_task on_tick --event tick:done\nprint('heard', context.event.type)"
SKIPPED = ("raise RuntimeError('this cell is tagged cognia:skip')", ["cognia:skip"])


def _by_task(store: Path) -> Counter[tuple[str, str]]:
    return Counter((e["task_name"], e["status"]) for e in executions(store))


@pytest.mark.timeout(90)
def test_run_a_notebook_for_10s_its_tasks_run_in_the_store_output_prefixed(
    tmp_path: Path,
) -> None:
    nb = write_notebook(tmp_path / "nb.ipynb", [SETUP, TICK, TOCK, ON_TICK, SKIPPED])
    store = tmp_path / "s.db"
    service = Service(["run", str(nb), "--for", "10", "--store", str(store)], store, tmp_path)
    try:
        assert service.finish(60) == 0, service.text + service.stderr()
    finally:
        service.kill()
    text = service.text
    assert "[cell 2] setup done" in text  # cell numbers count the markdown title
    assert "ran     4 cell(s) of nb.ipynb" in text and "1 skipped (cognia:skip)" in text
    assert "[tick] tick says hi" in text and "[tock] tock line" in text
    assert "[on_tick] heard tick:done" in text
    assert "loaded  on_tick: On event 'tick:done'" in text
    runs = _by_task(store)
    assert runs[("tick", "succeeded")] >= 5, runs
    assert runs[("tock", "succeeded")] >= 5, runs
    assert runs[("on_tick", "succeeded")] >= 5, runs
    assert {status for _, status in runs} == {"succeeded"}
    # the tasks are the interactive kernel's: notebook:<absolute path>
    assert {e["plugin_id"] for e in executions(store)} == {f"notebook:{nb.resolve()}"}
    assert "stopped" in service.lines[-1]


SLOW = """@cn.task(interval=1)
def slow(context):
    print('slow begins')
    time.sleep(2)
    print('slow ends')
    return 'done'"""


@pytest.mark.timeout(90)
def test_sigterm_lets_the_running_execution_finish_within_the_grace(tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "slow.ipynb", [SETUP, SLOW])
    store = tmp_path / "s.db"
    service = Service(["run", str(nb), "--grace", "5", "--store", str(store)], store, tmp_path)
    try:
        service.wait_for(r"^\[slow\] slow begins", 60)
        service.proc.send_signal(signal.SIGTERM)
        began = time.monotonic()
        assert service.finish(30) == 0, service.text
        took = time.monotonic() - began
    finally:
        service.kill()
    text = service.text
    assert "letting 1 running execution(s) finish (grace 5s" in text
    assert text.index("[slow] slow ends") > text.index("letting 1 running")
    assert took < 5 + 5, took  # the grace plus the kernel's shutdown
    (last,) = [e for e in executions(store) if e["started_ts"]][-1:]
    assert (last["status"], last["output"]) == ("succeeded", '"done"'), last


@pytest.mark.timeout(90)
def test_a_killed_kernel_is_restarted_the_notebook_rerun_and_the_restart_recorded(
    tmp_path: Path,
) -> None:
    nb = write_notebook(tmp_path / "nb.ipynb", [SETUP, TICK])
    store = tmp_path / "s.db"
    service = Service(["run", str(nb), "--grace", "2", "--store", str(store)], store, tmp_path)
    try:
        first = int(service.wait_for(r"kernel  python3 \(pid (\d+)\)", 60).group(1))
        service.wait_for(r"ok      tick", 60)
        deadline = time.monotonic() + 10  # SIGKILL loses what the writer had not committed
        while not executions(store) and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(first, signal.SIGKILL)
        service.wait_for(r"died \(killed by SIGKILL\); restarting in 1s \(restart 1 of", 30)
        second = int(service.wait_for(r"kernel  python3 \(pid (\d+)\)", 60, count=2).group(1))
        assert second != first
        service.wait_for(r"setup done", 60, count=2)  # the notebook ran again
        ticks = len([line for line in service.lines if "ok      tick" in line])
        service.wait_for(r"ok      tick", 30, count=ticks + 2)  # and its tasks go on
        status = subprocess.run(
            [sys.executable, "-m", "cognia_nb.cli", "status", "--store", str(store)],
            capture_output=True, text=True, timeout=60, env=env(store), check=False,
        )  # fmt: skip
        service.proc.send_signal(signal.SIGINT)
        assert service.finish(30) == 0, service.text
    finally:
        service.kill()
    assert status.returncode == 0, status.stderr
    assert "1 restart(s) recorded, last" in status.stdout
    assert f"kernel pid {first} died (killed by SIGKILL)" in status.stdout
    assert f"pid {second}" in status.stdout and "service" in status.stdout
    owners = {e["owner"].split(":")[1] for e in executions(store) if e["task_name"] == "tick"}
    assert owners == {str(first), str(second)}


@pytest.mark.timeout(60)
def test_a_failing_setup_cell_stops_the_start_with_exit_2_naming_the_cell(
    tmp_path: Path,
) -> None:
    nb = write_notebook(tmp_path / "bad.ipynb", [SETUP, "x = {}\nx['missing']", TICK])
    store = tmp_path / "s.db"
    service = Service(["run", str(nb), "--for", "5", "--store", str(store)], store, tmp_path)
    try:
        code = service.finish(60)
    finally:
        service.kill()
    err = service.stderr()
    assert code == 2, service.text + err
    assert "bad.ipynb: cell 3 ('x = {}') raised KeyError: 'missing'" in err
    assert "x['missing']" in err  # the traceback, without colours
    assert "\x1b[" not in err
    assert not [e for e in executions(store) if e["task_name"] == "tick"]


@pytest.mark.timeout(90)
def test_an_interactive_kernel_and_the_service_share_a_store_each_due_time_runs_once(
    tmp_path: Path,
) -> None:
    fast = "@cn.task(interval=1)\ndef fast():\n    return 'f'"
    other = "%%cognia_task other --interval 1\nreturn 'o'"
    nb = write_notebook(tmp_path / "shared.ipynb", [SETUP, fast, other])
    store = tmp_path / "s.db"
    # the service starts while the interactive kernel runs the same cells
    service = Service(["run", str(nb), "--for", "15", "--store", str(store)], store, tmp_path)
    try:
        interactive = Kernel({**env(store), "JPY_SESSION_NAME": str(nb.resolve())})
        try:
            for source in (SETUP, fast, other):
                interactive.check(source)
            service.wait_for(r"ok      fast|ok      other", 60)
            status = subprocess.run(
                [sys.executable, "-m", "cognia_nb.cli", "status", "--store", str(store)],
                capture_output=True, text=True, timeout=60, env=env(store), check=False,
            )  # fmt: skip
            assert service.finish(60) == 0, service.text
        finally:
            interactive.shutdown()
    finally:
        service.kill()
    assert "2 process(es), 2 alive" in status.stdout, status.stdout
    assert "kernel" in status.stdout and "service" in status.stdout
    scheduled = [e for e in executions(store) if e["trigger_kind"] == "schedule"]
    per_due = Counter((e["task_id"], e["scheduled_ts"]) for e in scheduled)
    assert len(per_due) >= 20, len(per_due)
    assert [key for key, n in per_due.items() if n > 1] == []
    assert {e["status"] for e in scheduled} == {"succeeded"}
    assert len({e["owner"] for e in scheduled}) == 2  # both processes ran some


LONG = """@cn.task(interval=1)
async def long(context):
    import asyncio
    print('long begins')
    await asyncio.sleep(30)"""


@pytest.mark.timeout(90)
def test_a_second_signal_cancels_the_running_execution_now(tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "long.ipynb", [SETUP, LONG])
    store = tmp_path / "s.db"
    service = Service(["run", str(nb), "--grace", "60", "--store", str(store)], store, tmp_path)
    try:
        service.wait_for(r"^\[long\] long begins", 60)
        service.proc.send_signal(signal.SIGINT)
        service.wait_for(r"letting 1 running execution\(s\) finish \(grace 60s", 10)
        service.proc.send_signal(signal.SIGINT)
        began = time.monotonic()
        assert service.finish(30) == 0, service.text
        assert time.monotonic() - began < 15  # not the 60 s grace
    finally:
        service.kill()
    assert "cancelling running executions now" in service.text
    (run,) = [e for e in executions(store) if e["task_name"] == "long"]
    assert run["status"] == "cancelled", run
