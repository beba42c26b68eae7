"""``cognia-nb status`` on a real store: holders, their tasks, heartbeats, dead ones."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cognia_nb import Scheduler
from cognia_nb._service._status import holders, record_restart
from cognia_nb.stores import SQLiteStore
from cognia_nb.stores._procs import LEASE_SECONDS

from .helpers import env


def _ghost(path: Path, owner: str, pid: int, beat: float | None, info: dict) -> None:
    host = owner.split(":", maxsplit=1)[0]
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO processes (owner, host, pid, started_ts, heartbeat_ts, info) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (owner, host, pid, time.time() - 60, beat, json.dumps(info)),
    )
    conn.commit()
    conn.close()


async def test_holders_show_live_and_dead_processes_with_their_tasks(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    scheduler = Scheduler(store=str(path)).start()
    scheduler.register_handler("h", lambda ctx: "x")
    task = scheduler.create_task(name="job", handler="h", trigger={"type": "interval",
                                                                   "seconds": 60})  # fmt: skip
    await scheduler.wait_for(scheduler.run_task_now(task.id), timeout=10)
    scheduler.store.flush()
    here = socket.gethostname()
    _ghost(path, f"{here}:999999:1:aa", 999999, time.time(), {"kind": "service",
           "notebook": "/x/nb.ipynb", "restarts": 2})  # fmt: skip
    _ghost(path, "far:12:1:bb", 12, time.time() - LEASE_SECONDS - 5, {"kind": "kernel"})
    _ghost(path, "near:13:1:cc", 13, time.time(), {"kind": "kernel"})
    try:
        found = {h.owner.split(":")[0] + ":" + h.owner.split(":")[1]: h for h in holders(str(path))}
    finally:
        await scheduler.stop()
        scheduler.close()
    me = found[f"{here}:{__import__('os').getpid()}"]
    assert (me.kind, me.alive, me.tasks) == ("process", True, ["job"])
    assert me.last_activity_ts is not None and me.heartbeat_ts is not None
    assert not found[f"{here}:999999"].alive  # its pid is gone
    assert found[f"{here}:999999"].describe() == f"service on {here} pid 999999"
    assert not found["far:12"].alive  # its heartbeat is older than the lease
    assert found["near:13"].alive


async def test_the_writer_thread_of_a_started_scheduler_beats(tmp_path: Path) -> None:
    scheduler = Scheduler(store=str(tmp_path / "s.db")).start()
    writer = scheduler.store._writer
    assert writer is not None
    writer.heartbeat = 0.05
    writer._next_beat = time.monotonic()
    conn = sqlite3.connect(tmp_path / "s.db")
    first = conn.execute("SELECT heartbeat_ts FROM processes").fetchone()[0]
    beat, deadline = first, time.monotonic() + 10
    while time.monotonic() < deadline and beat <= first:
        await asyncio.sleep(0.05)
        beat = conn.execute("SELECT heartbeat_ts FROM processes").fetchone()[0]
    conn.close()
    await scheduler.stop()
    scheduler.close()
    assert beat > first


def test_status_command_prints_the_table_and_restarts(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.open()
    store.close()
    here = socket.gethostname()
    _ghost(path, f"{here}:999998:1:aa", 999998, time.time(), {"kind": "service",
           "notebook": "/x/nb.ipynb", "restarts": 1})  # fmt: skip
    record_restart(str(path), "/x/nb.ipynb", "kernel pid 5 died (killed by SIGKILL)", None)
    out = subprocess.run([sys.executable, "-m", "cognia_nb.cli", "status", "--store", str(path)],
                         capture_output=True, text=True, env=env(path), timeout=60,
                         check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "1 process(es), 0 alive" in out.stdout
    assert "DEAD" in out.stdout and "nb.ipynb" in out.stdout
    assert "nb.ipynb: 1 restart(s) recorded, last " in out.stdout
    assert "s ago: kernel pid 5 died (killed by SIGKILL)" in out.stdout


def test_status_of_a_missing_store_is_an_error(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "cognia_nb.cli", "status", "--store",
                          str(tmp_path / "nope.db")], capture_output=True, text=True,
                         env=env(tmp_path / "nope.db"), timeout=60, check=False)  # fmt: skip
    assert out.returncode == 2
    assert f"store '{tmp_path / 'nope.db'}' does not exist" in out.stderr
    assert not (tmp_path / "nope.db").exists()


def test_a_notebook_argument_that_is_not_a_notebook_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.ipynb").write_text("{not json")
    out = subprocess.run([sys.executable, "-m", "cognia_nb.cli", "run", str(tmp_path / "x.ipynb"),
                          "--store", str(tmp_path / "s.db")], capture_output=True, text=True,
                         env=env(tmp_path / "s.db"), timeout=60, check=False)  # fmt: skip
    assert out.returncode == 2
    assert "x.ipynb' is not JSON" in out.stderr


@pytest.mark.parametrize("bad", ["-1", "nan", "soon"])
def test_a_bad_grace_is_refused(tmp_path: Path, bad: str) -> None:
    out = subprocess.run([sys.executable, "-m", "cognia_nb.cli", "run", "nb.ipynb", "--grace",
                          bad], capture_output=True, text=True, env=env(tmp_path / "s.db"),
                         timeout=60, check=False)  # fmt: skip
    assert out.returncode == 2
    assert "--grace: must be a number of seconds" in out.stderr and repr(bad) in out.stderr
