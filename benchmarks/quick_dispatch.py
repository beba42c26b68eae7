"""Quick measurement: CPU µs per execution for N no-op interval tasks due at the same instant.

    python -m benchmarks.quick_dispatch --n 10000 --seconds 5

Every task has the same anchor, so all N are due at once each second (the hard case). Prints a
JSON line: executions, CPU seconds of the process during the window, µs per execution, the
fraction of due firings that ran, and the longest gap seen by a 10 ms probe (loop stalls).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime

from cognia_nb import Scheduler, TaskContext
from cognia_nb.triggers import IntervalTrigger


async def noop(ctx: TaskContext) -> None:
    return None


async def main(n: int, seconds: float, store: str = "memory") -> dict[str, float]:
    scheduler = Scheduler(store=store, timezone="UTC", max_concurrency=None)
    scheduler.register_handler("noop", noop)
    anchor = datetime.fromtimestamp(int(time.time()) + 2, UTC)
    for i in range(n):
        scheduler.create_task(name=f"t{i}", handler="noop", trigger=IntervalTrigger(1, anchor))
    scheduler.start()
    await asyncio.sleep(max(0.0, anchor.timestamp() - time.time() - 0.5))
    stalls: list[float] = []
    stop = False

    async def probe() -> None:
        while not stop:
            t0 = time.perf_counter()
            await asyncio.sleep(0.01)
            stalls.append(time.perf_counter() - t0 - 0.01)

    prober = asyncio.ensure_future(probe())
    done_before = sum(t.run_count for t in scheduler.list_tasks())
    cpu0, wall0 = time.process_time(), time.time()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu0
    window = time.time() - wall0
    stop = True
    await prober
    executed = sum(t.run_count for t in scheduler.list_tasks()) - done_before
    await scheduler.stop()
    scheduler.close()
    persisted = None
    if store != "memory":
        import sqlite3

        conn = sqlite3.connect(store)
        persisted = conn.execute(
            "SELECT count(*) FROM executions WHERE created_ts >= ? AND created_ts < ? "
            "AND status = 'succeeded'",
            (wall0, wall0 + window),
        ).fetchone()[0]
        conn.close()
    stalls.sort()
    return {
        "n": n,
        "store": "sqlite" if store != "memory" else "memory",
        "persisted_per_s": None if persisted is None else round(persisted / window),
        "window_s": round(window, 2),
        "executions": executed,
        "ideal": n * round(window),
        "cpu_s": round(cpu, 3),
        "us_per_exec": round(cpu / max(1, executed) * 1e6, 2),
        "probe_p99_ms": round(stalls[int(len(stalls) * 0.99) - 1] * 1000, 2) if stalls else 0.0,
        "probe_max_ms": round(stalls[-1] * 1000, 2) if stalls else 0.0,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--store", default="memory", help="'memory' or a SQLite path")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(main(args.n, args.seconds, args.store))))
