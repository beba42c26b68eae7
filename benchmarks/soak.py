"""Soak: memory over a long run with history retention on (no growth allowed).

    python -m benchmarks.soak --minutes 10 --tasks 1000

1,000 one-second interval tasks on a SQLite store with retention (100 executions per task)
for the given time; resident memory and the store's row count are sampled every 30 s. Prints
a JSON line per sample and a summary with the growth between the second sample (warm) and the
last one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import time

from ._common import rss_bytes


def rss_mb() -> float:
    return rss_bytes() / 2**20


async def main(minutes: float, tasks: int, every: float) -> dict[str, float]:
    from cognia_nb import Scheduler, TaskContext
    from cognia_nb.stores import SQLiteStore

    path = os.path.join(tempfile.mkdtemp(), "soak.db")
    store = SQLiteStore(path, max_executions_per_task=100, max_age_days=1)
    scheduler = Scheduler(store=store, timezone="UTC", max_concurrency=None).start()

    async def work(ctx: TaskContext) -> dict[str, object]:
        ctx.report_progress(100)
        return {"success": True, "output": {"n": 1}, "metrics": {"n": 1}}

    scheduler.register_handler("work", work)
    for i in range(tasks):
        scheduler.create_task(name=f"t{i}", handler="work",
                              trigger={"type": "interval", "seconds": 1})  # fmt: skip
    samples = []
    end = time.time() + minutes * 60
    while time.time() < end:
        await asyncio.sleep(min(every, max(0.0, end - time.time())))
        store.flush()
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT count(*) FROM executions").fetchone()[0]
        sample = {"t_s": round(minutes * 60 - (end - time.time())), "rss_mb": round(rss_mb(), 1),
                  "rows": rows, "live_runs": len(scheduler._runner.live)}  # fmt: skip
        samples.append(sample)
        print(json.dumps({"workload": "soak", **sample}), flush=True)
    await scheduler.stop()
    scheduler.close()
    warm = samples[1] if len(samples) > 2 else samples[0]
    last = samples[-1]
    summary = {"summary": "soak", "minutes": minutes, "tasks": tasks,
               "rss_warm_mb": warm["rss_mb"], "rss_last_mb": last["rss_mb"],
               "rss_growth_mb": round(last["rss_mb"] - warm["rss_mb"], 1),
               "rows_last": last["rows"]}  # fmt: skip
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--every", type=float, default=30.0)
    args = ap.parse_args()
    asyncio.run(main(args.minutes, args.tasks, args.every))
    sys.exit(0)
