"""A failing disk: the writer keeps the rows, says so at once, resumes, and stop/close report
instead of raising. Real processes on a real (small tmpfs) file system."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .disk_worker import BEFORE, DURING

WORKER = Path(__file__).with_name("disk_worker.py")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs (skipped where it cannot be mounted)."""
    point = tmp_path / "disk"
    point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(point)],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def run(store: Path, mode: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(store), mode],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.splitlines()[-1])
    out["stderr"] = proc.stderr
    return out  # type: ignore[no-any-return]


def stored_ids(store: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM executions WHERE output IS NOT NULL")}
    finally:
        conn.close()


@pytest.mark.timeout(120)
def test_a_full_disk_is_reported_retried_and_nothing_is_lost(small_disk: Path) -> None:
    store = small_disk / "s.db"
    out = run(store, "recover")
    assert out["raised"] is None
    assert out["full_ok"] is False
    assert "full" in str(out["full_error"])  # sqlite's "database or disk is full"
    assert "rows waiting in memory, retried" in str(out["full"])
    assert "cannot write to" in str(out["stderr"])
    assert "writing to" in str(out["stderr"]) and "again after" in str(out["stderr"])
    assert out["end_ok"] is True and out["lost"] == 0
    assert stored_ids(store) == set(out["ids"])  # type: ignore[arg-type]
    assert len(out["ids"]) == BEFORE + DURING  # type: ignore[arg-type]


@pytest.mark.timeout(120)
def test_closing_on_a_full_disk_reports_the_loss_and_does_not_raise(small_disk: Path) -> None:
    store = small_disk / "s.db"
    out = run(store, "give_up")
    assert out["raised"] is None
    assert out["full_ok"] is False
    assert int(out["lost"]) >= 1  # type: ignore[call-overload]
    assert "rows lost at close" in str(out["end"])
    assert "giving up on" in str(out["stderr"])
    on_disk = stored_ids(store)
    assert set(out["ids"][:BEFORE]) <= on_disk  # type: ignore[index]
