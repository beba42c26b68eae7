"""``cognia-nb run`` stops within ``--grace`` (real processes, real SQLite files)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .test_cli import cli

PLUGIN = """
import time
from cognia_nb import define_plugin

def activate(context):
    def slow(task):
        print("handler started", flush=True)
        for _ in range(int(task.args["seconds"] * 20)):
            if task.signal.aborted:
                return "stopped early"
            time.sleep(0.05)
        return "finished"
    context.scheduler.register_handler("slow", slow)
    return {}

plugin = define_plugin(activate)
"""


def slow_plugin(tmp_path: Path, seconds: float) -> Path:
    root = tmp_path / "slow"
    root.mkdir()
    (root / "plugin.py").write_text(PLUGIN)
    manifest = {
        "name": "slow-plugin", "version": "1.0.0", "capabilities": ["scheduler"],
        "scheduledTasks": [{
            "name": "Slow", "handler": "slow", "trigger": {"type": "interval", "seconds": 1},
            "args": {"seconds": seconds}, "timeout": 120,
        }],
    }  # fmt: skip
    (root / "plugin.json").write_text(json.dumps(manifest))
    return root


def start(plugin: Path, store: Path, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cognia_nb", "run", str(plugin), "--store", str(store), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.time() + 30
    while time.time() < deadline:
        if "handler started" in proc.stdout.readline():
            return proc
    proc.kill()
    raise AssertionError("the handler never started")


def statuses(store: Path) -> list[tuple[str, str | None, str | None]]:
    with sqlite3.connect(store) as conn:
        return conn.execute("SELECT status, reason, output FROM executions").fetchall()


@pytest.mark.timeout(90)
def test_sigterm_lets_the_running_execution_finish_within_the_grace(tmp_path: Path) -> None:
    store = tmp_path / "g.db"
    proc = start(slow_plugin(tmp_path, 1.5), store, "--grace", "20")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopping: 1 running execution(s) get 20 s to finish" in out
    assert "stopped; running execution(s): 1 succeeded" in out
    assert statuses(store) == [("succeeded", None, '"finished"')]
    tasks = cli("tasks", "--store", str(store))  # a clean stop keeps the next run time
    assert tasks.returncode == 0 and "slow-plugin" in tasks.stdout
    row = next(line for line in tasks.stdout.splitlines() if "Slow" in line)
    assert "20" in row and " - " not in row  # an ISO next run, not "-"


@pytest.mark.timeout(90)
def test_grace_zero_cancels_at_once(tmp_path: Path) -> None:
    store = tmp_path / "z.db"
    proc = start(slow_plugin(tmp_path, 60), store, "--grace", "0")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped; running execution(s): 1 cancelled" in out
    assert statuses(store) == [("cancelled", "shutdown", None)]  # ended, not abandoned


@pytest.mark.timeout(90)
def test_a_second_ctrl_c_cancels_now(tmp_path: Path) -> None:
    store = tmp_path / "c.db"
    proc = start(slow_plugin(tmp_path, 60), store, "--grace", "60")
    began = time.time()
    proc.send_signal(signal.SIGINT)
    assert proc.stdout is not None
    while "stopping:" not in (line := proc.stdout.readline()):
        assert line, "run ended before it said it was stopping"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert time.time() - began < 30  # well within the 60 s grace
    assert "cancelling the running execution(s) now" in out
    assert "stopped; running execution(s): 1 cancelled" in out
    assert statuses(store) == [("cancelled", "shutdown", None)]  # ended, not abandoned


def test_bad_grace_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("run", str(tmp_path), "--store", "memory", "--grace", "-1")
    assert result.returncode == 2
    assert "--grace: must be a number of seconds >= 0 such as 30 or 2.5, got '-1'" in result.stderr
