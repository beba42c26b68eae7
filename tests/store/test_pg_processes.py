"""Three real processes on one PostgreSQL store: every (task, due time) runs exactly once, a
SIGKILLed holder's work is taken over within its lease, handlers stay where registered."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from .conftest import Place

WORKER = Path(__file__).with_name("pg_worker.py")
TASKS = 200
RUN_SECONDS = 20.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


@pytest.fixture
def pg(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    from .conftest import open_place

    return open_place("postgres", request, tmp_path)


def _start(place: Place, names: list[str], until: float, lease: float) -> list[Any]:
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(place.dsn), str(place.schema), name, str(TASKS),
             str(until), str(lease)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in names
    ]  # fmt: skip
    return procs


def _ready(proc: Any) -> str:
    line = proc.stdout.readline()
    assert line.startswith("ready "), line + proc.stderr.read()
    return str(line.split()[1])


def _runs(place: Place) -> list[tuple[str, str, float, str, str]]:
    """(task name, execution id, scheduled_ts, status, owner) of every execution."""
    rows = place.query("SELECT task_name, id, scheduled_ts, status, owner FROM executions")
    return [(str(n), str(i), float(s), str(st), str(o)) for n, i, s, st, o in rows]


def _missed(place: Place) -> dict[tuple[str, float], int]:
    """(task name, scheduled_ts) -> the due times after it that its run coalesced (misfire
    policy) or skipped while it was still running (overlap policy)."""
    rows = place.query("SELECT task_name, scheduled_ts, missed + skipped FROM executions")
    return {(str(n), round(float(s), 6)): int(m) for n, s, m in rows}


def _assert_once(runs: list[tuple[str, str, float, str, str]]) -> None:
    seen: dict[tuple[str, float], int] = defaultdict(int)
    for name, _, due, _, _ in runs:
        seen[(name, round(due, 6))] += 1
    twice = {k: n for k, n in seen.items() if n > 1}
    example = [r for r in runs if twice and (r[0], round(r[2], 6)) == next(iter(twice))]
    assert not twice, f"{len(twice)} due times ran more than once, e.g. {example}"


def _dues(runs: list[tuple[str, str, float, str, str]], name: str) -> list[float]:
    return sorted(due for n, _, due, _, _ in runs if n == name)


def test_three_processes_run_every_due_time_exactly_once(pg: Place) -> None:
    until = time.time() + 6 + RUN_SECONDS
    procs = _start(pg, ["a", "b", "c"], until, lease=30)
    owners = {name: _ready(p) for name, p in zip("abc", procs, strict=True)}
    all_ready = time.time()
    outs = [p.communicate(timeout=RUN_SECONDS + 60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-2000:] for _, err in outs]
    runs = _runs(pg)
    _assert_once(runs)
    window = (all_ready + 1, until - 2)  # every process is running its tasks
    missed = _missed(pg)
    coalesced = 0
    for i in range(TASKS):
        dues = [d for d in _dues(runs, f"t{i}") if window[0] <= d <= window[1]]
        assert len(dues) >= (window[1] - window[0]) / 2, (i, dues)
        # every due time ran once, or the run before it accounts for it: coalesced by the
        # misfire policy (over its 1 s grace late) or skipped by the overlap policy (that run
        # was still going), both only on a loaded machine; never lost
        lost = []
        for a, b in itertools.pairwise(dues):
            covered = missed[(f"t{i}", round(a, 6))]
            coalesced += covered
            if round(b - a, 3) != 1.0 + covered:
                lost.append(round(a - all_ready, 2))
        assert not lost, f"t{i}: due times lost after, s from the last start: {lost}"
    assert coalesced <= 0.05 * TASKS * (window[1] - window[0]), coalesced
    ran_by = {o for n, _, _, _, o in runs if n.startswith("t")}
    assert len(ran_by & set(owners.values())) == 3  # the work is shared
    for name, owner in owners.items():  # a handler's tasks only run where it is registered
        assert {o for n, _, _, _, o in runs if n == f"only-{name}"} == {owner}
    statuses = {st for n, _, d, st, _ in runs if n.startswith("t") and d <= window[1]}
    assert statuses == {"succeeded"}  # (what still ran at the end was cancelled by stop)


def test_a_killed_holder_is_taken_over_within_its_lease(pg: Place) -> None:
    lease = 2.0
    until = time.time() + 6 + RUN_SECONDS
    procs = _start(pg, ["a", "b", "c"], until, lease=lease)
    owners = [_ready(p) for p in procs]
    time.sleep(5)
    running = "SELECT count(*) FROM executions WHERE owner = ? AND status = 'running'"
    deadline = time.time() + 10
    while pg.query(running, (owners[0],))[0][0] == 0 and time.time() < deadline:
        time.sleep(0.02)  # kill it mid-run: while it has executions running
    os.kill(procs[0].pid, signal.SIGKILL)
    killed_at = time.time()
    procs[0].wait(10)
    outs = [p.communicate(timeout=RUN_SECONDS + 60) for p in procs[1:]]
    assert [p.returncode for p in procs[1:]] == [0, 0], [err[-2000:] for _, err in outs]
    runs = _runs(pg)
    _assert_once(runs)
    dead = [r for r in runs if r[4] == owners[0]]
    assert dead, "the killed process had run nothing"
    assert not [r for r in dead if r[3] in ("pending", "running")]
    last = sorted(dead, key=lambda r: r[2])[-5:]
    assert [r for r in dead if r[3] == "interrupted"], f"nothing ran at {killed_at}: {last}"
    for i in range(TASKS):
        after = [d for d in _dues(runs, f"t{i}") if d > killed_at - 1]
        assert after and after[0] <= killed_at + lease + 1.5, (f"t{i}", after[:3])
        gaps = [b - a for a, b in itertools.pairwise(after)]
        assert max(gaps) <= lease + 1.5, (f"t{i}", gaps)
        assert after[-1] >= until - 3
    orphan = [d for d in _dues(runs, "only-a") if d > killed_at + 0.5]
    assert orphan == []  # nobody else has its handler
    assert (owners[0],) not in pg.query("SELECT owner FROM processes")
