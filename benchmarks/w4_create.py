"""W4: create 100,000 tasks (interval; cron ``*/5 * * * *``) on the memory store: µs and bytes
per task.

    python -m benchmarks.w4_create --n 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from typing import Any

from ._common import emit, have_peer, in_fresh_process, rss_bytes, summarize


def run(impl: str, kind: str, n: int, trace: bool) -> dict[str, Any]:
    if trace:
        tracemalloc.start()
    gc.collect()
    rss0 = rss_bytes()
    if impl == "cognia_nb":
        from cognia_nb import Scheduler

        scheduler = Scheduler(timezone="UTC")
        trigger = ({"type": "interval", "seconds": 60} if kind == "interval"
                   else {"type": "cron", "expression": "*/5 * * * *"})  # fmt: skip
        scheduler.create_task(name="warm", handler="h", trigger=trigger)
        base = tracemalloc.get_traced_memory()[0] if trace else 0
        start = time.perf_counter()
        for i in range(n):
            scheduler.create_task(name=f"t{i}", handler="h", trigger=trigger)
        took = time.perf_counter() - start
    else:
        import asyncio

        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        aps = AsyncIOScheduler(timezone="UTC", event_loop=loop)
        aps.start(paused=True)  # jobs go straight into the memory job store

        def make() -> Any:
            return (IntervalTrigger(seconds=60) if kind == "interval"
                    else CronTrigger.from_crontab("*/5 * * * *", timezone="UTC"))  # fmt: skip

        aps.add_job(print, make(), id="warm")
        base = tracemalloc.get_traced_memory()[0] if trace else 0
        start = time.perf_counter()
        for i in range(n):
            aps.add_job(print, make(), id=str(i))
        took = time.perf_counter() - start
    if trace:  # a separate pass: tracing slows everything down
        return {"bytes_per_task": round((tracemalloc.get_traced_memory()[0] - base) / n)}
    gc.collect()
    return {"kind": kind, "n": n, "us_per_task": round(took / n * 1e6, 2),
            "bytes_per_task": round((rss_bytes() - rss0) / n)}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--trace", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.trace:
        print(json.dumps(run(args.trace[0], args.trace[1], args.n, trace=True)))
        return 0
    if args.one:
        timed = run(args.one[0], args.one[1], args.n, trace=False)
        print(json.dumps(timed))
        return 0
    impls = ["cognia_nb"] + (["apscheduler"] if have_peer() else [])
    for kind in ("interval", "cron"):
        runs: dict[str, list[dict[str, Any]]] = {i: [] for i in impls}
        for _ in range(args.repeat):
            for impl in impls:
                # bytes: growth of resident memory (tracemalloc would slow the peer's O(n)
                # inserts to a crawl); --trace gives the exact Python allocation count instead
                measured = in_fresh_process("-m", "benchmarks.w4_create", "--one", impl, kind,
                                            "--n", args.n)  # fmt: skip
                record: dict[str, Any] = {"workload": "W4", "impl": impl, **measured}
                runs[impl].append(record)
                emit(record)
        for metric in ("us_per_task", "bytes_per_task"):
            summarize("W4", metric, {i: [r[metric] for r in rs] for i, rs in runs.items()},
                      kind=kind, n=args.n)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
