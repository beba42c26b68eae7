"""SIGKILL against a ledger of acknowledged executions: none lost with
``durability="strict"``; with the default, the loss is reported and lies inside the
group-commit window."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cognia_nb import Scheduler, TaskValidationError

WORKER = Path(__file__).with_name("proc_worker.py")
WINDOW = 0.05
KILLS = 3


def killed_run(store: Path, durability: str) -> tuple[float, list[tuple[float, str]]]:
    """Run the "kill" worker ~1.2 s, SIGKILL it; the kill time and its ledger."""
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(store), "kill", str(time.time() + 60), durability],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("running "), first + proc.stderr.read()  # type: ignore[union-attr]
    time.sleep(1.2)
    kill_at = time.time()
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=10)
    ledger = [(float(ts), ex_id) for ts, ex_id in (line.split() for line in out.splitlines())]
    return kill_at, ledger


def stored(store: Path) -> set[str]:
    conn = sqlite3.connect(store)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM executions WHERE status = 'succeeded'")}
    finally:
        conn.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("durability", ["strict", "group"])
def test_sigkill_ledger(tmp_path: Path, durability: str) -> None:
    acknowledged = lost = 0
    for i in range(KILLS):
        store = tmp_path / f"k{i}.db"
        kill_at, ledger = killed_run(store, durability)
        assert len(ledger) > 10
        on_disk = stored(store)
        missing = [(ts, ex_id) for ts, ex_id in ledger if ex_id not in on_disk]
        acknowledged += len(ledger)
        lost += len(missing)
        if durability == "strict":
            assert missing == []
        else:  # only executions acknowledged in the last group-commit windows can be lost
            assert all(ts > kill_at - 4 * WINDOW for ts, _ in missing), missing
    print(f"durability={durability}: {lost} of {acknowledged} acknowledged executions lost "
          f"over {KILLS} SIGKILLs")  # fmt: skip


def test_durability_is_group_or_strict() -> None:
    with pytest.raises(TaskValidationError, match=r"durability must be 'group'.*'strict'.*'fast'"):
        Scheduler(durability="fast")
