"""W3: 10,000 tasks next due in an hour; 10 s idle: process CPU and loop wakeups.

    python -m benchmarks.w3_idle --n 10000 --seconds 10 --repeat 3

Wakeups are counted by wrapping the loop's ``_run_once`` (one per loop iteration): an idle
scheduler should cost what a bare loop costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from ._common import emit, have_peer, in_fresh_process, summarize


async def _idle(seconds: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    count = {"n": 0}
    original = loop._run_once  # type: ignore[attr-defined]

    def counting() -> None:
        count["n"] += 1
        original()

    loop._run_once = counting  # type: ignore[attr-defined]
    await asyncio.sleep(0.2)
    cpu0, n0 = time.process_time(), count["n"]
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu0
    loop._run_once = original  # type: ignore[attr-defined]
    return {"cpu_ms": round(cpu * 1000, 2), "wakeups": count["n"] - n0}


async def run(impl: str, n: int, seconds: float) -> dict[str, Any]:
    later = datetime.now(UTC) + timedelta(hours=1)
    if impl == "cognia_nb":
        from cognia_nb import Scheduler
        from cognia_nb.triggers import IntervalTrigger

        scheduler = Scheduler(timezone="UTC")
        scheduler.register_handler("h", lambda: None)
        for i in range(n):
            scheduler.create_task(name=f"t{i}", handler="h", trigger=IntervalTrigger(3600, later))
        scheduler.start()
        result = await _idle(seconds)
        await scheduler.stop()
    elif impl == "apscheduler":
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.interval import IntervalTrigger as ApsInterval

        aps = AsyncIOScheduler(timezone="UTC")
        for i in range(n):
            aps.add_job(lambda: None, ApsInterval(hours=1, start_date=later), id=str(i))
        aps.start()
        result = await _idle(seconds)
        aps.shutdown(wait=False)
    else:
        result = await _idle(seconds)
    return {"n": n if impl != "bare_loop" else 0, **result}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(run(args.one, args.n, args.seconds))))
        return 0
    impls = ["cognia_nb", "bare_loop"] + (["apscheduler"] if have_peer() else [])
    runs: dict[str, list[dict[str, Any]]] = {i: [] for i in impls}
    for _ in range(args.repeat):
        for impl in impls:
            measured = in_fresh_process("-m", "benchmarks.w3_idle", "--one", impl, "--n", args.n,
                                        "--seconds", args.seconds)  # fmt: skip
            record = {"workload": "W3", "impl": impl, **measured}
            runs[impl].append(record)
            emit(record)
    for metric in ("cpu_ms", "wakeups"):
        summarize("W3", metric, {i: [r[metric] for r in rs] for i, rs in runs.items()}, n=args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
