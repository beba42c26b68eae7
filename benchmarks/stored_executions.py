"""Memory per stored execution: bytes each finished execution costs where it is kept.

    python -m benchmarks.stored_executions --tasks 1000 --seconds 50 --repeat 3

1,000 one-second tasks with a no-op handler run for 50 simulated seconds on a fake clock (the
numbers do not depend on real time), so 50,000 finished executions are kept. Reported:

* memory store: bytes of Python heap per kept execution (``tracemalloc``, the whole record:
  the ``Execution`` and what the store indexes it with);
* SQLite: bytes of database file per execution row (after a checkpoint; tables and indexes
  included).

APScheduler keeps no executions, so there is no peer column for this one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import tracemalloc
from typing import Any

from ._common import emit, in_fresh_process, summarize


async def _fill(store: str, tasks: int, seconds: float) -> tuple[Any, int]:
    from cognia_nb import Scheduler, TaskContext
    from cognia_nb.testing import FakeClock

    async def noop(ctx: TaskContext) -> None:
        return None

    clock = FakeClock()
    scheduler = Scheduler(store=store, clock=clock, timezone="UTC", max_concurrency=None)
    scheduler.register_handler("noop", noop)
    for i in range(tasks):
        scheduler.create_task(name=f"t{i}", handler="noop",
                              trigger={"type": "interval", "seconds": 1})  # fmt: skip
    scheduler.start()
    await clock.advance(0.5)  # every task has its first fire time; nothing ran yet
    before = tracemalloc.get_traced_memory()[0] if store == "memory" else 0
    await clock.advance(seconds)
    after = tracemalloc.get_traced_memory()[0] if store == "memory" else 0
    kept = sum(t.run_count for t in scheduler.list_tasks())
    await scheduler.stop()
    if store != "memory":
        scheduler.close()
        return None, kept
    return (after - before, scheduler), kept


def one(kind: str, tasks: int, seconds: float) -> dict[str, Any]:
    if kind == "memory":
        tracemalloc.start()
        (grown, _scheduler), kept = asyncio.run(_fill("memory", tasks, seconds))
        return {"store": "memory", "executions": kept, "bytes_per_execution": round(grown / kept)}
    path = os.path.join(tempfile.mkdtemp(), "stored.db")
    _, kept = asyncio.run(_fill(path, tasks, seconds))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT count(*) FROM executions").fetchone()[0]
    size = os.path.getsize(path)
    return {"store": "sqlite", "executions": rows, "bytes_per_execution": round(size / rows)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=50.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.tasks, args.seconds)))
        return 0
    runs: dict[str, list[float]] = {"cognia_nb_memory": [], "cognia_nb_sqlite": []}
    for _ in range(args.repeat):
        for kind, impl in (("memory", "cognia_nb_memory"), ("sqlite", "cognia_nb_sqlite")):
            measured = in_fresh_process(
                "-m", "benchmarks.stored_executions", "--one", kind, "--tasks", args.tasks,
                "--seconds", args.seconds,
            )  # fmt: skip
            record = {"workload": "stored", **measured}
            runs[impl].append(record["bytes_per_execution"])
            emit(record)
    summarize("stored executions", "bytes_per_execution", runs, n=args.tasks * int(args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
