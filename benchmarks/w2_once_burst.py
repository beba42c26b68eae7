"""W2: 1,000 once tasks due at the same instant: how late does each start (p50, p99, last)?

python -m benchmarks.w2_once_burst --n 1000 --repeat 3

The goal (issue #15, stricter than WORKLOADS.md's 8 ms): the last start no later than the
plain-asyncio limit measured in the same run. Each repetition prints its paired ratio
(cognia_nb's ``last_ms`` / the limit's ``last_ms`` of that repetition), and the ``last_ms``
summary says how many repetitions met the goal (``paired_ratios``, ``runs_met``, ``goal_met``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from ._common import emit, have_peer, in_fresh_process, paired, summarize

GOAL_RATIO = 1.0  # issue #15: cognia_nb's last start / the asyncio limit's, same repetition


def _lateness(values: list[float]) -> dict[str, Any]:
    values.sort()
    return {"started": len(values), "p50_ms": round(values[len(values) // 2], 3),
            "p99_ms": round(values[max(0, int(len(values) * 0.99) - 1)], 3),
            "last_ms": round(values[-1], 3)}  # fmt: skip


async def run_cognia(n: int) -> dict[str, Any]:
    from cognia_nb import Scheduler, TaskContext

    late: list[float] = []
    due = time.time() + 1.5
    run_at = datetime.fromtimestamp(due, UTC)
    due = run_at.timestamp()  # the instant the trigger holds (microseconds)

    # The same body as the peer's and the limit's handler: the time against the due instant
    # (reading ``ctx.scheduled_at`` would build a datetime per start, work the others skip).
    async def mark(ctx: TaskContext) -> None:
        late.append((time.time() - due) * 1000)

    scheduler = Scheduler(timezone="UTC", max_concurrency=None)
    scheduler.register_handler("mark", mark)
    for i in range(n):
        scheduler.create_task(name=f"o{i}", handler="mark",
                              trigger={"type": "once", "runAt": run_at})  # fmt: skip
    scheduler.start()
    await asyncio.sleep(due - time.time() + 1.0)
    await scheduler.stop()
    scheduler.close()
    return _lateness(late)


async def run_aps(n: int) -> dict[str, Any]:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.date import DateTrigger

    late: list[float] = []
    due = time.time() + 1.5

    async def mark() -> None:
        late.append((time.time() - due) * 1000)

    scheduler = AsyncIOScheduler(timezone="UTC")
    for i in range(n):
        scheduler.add_job(mark, DateTrigger(datetime.fromtimestamp(due, UTC)), id=str(i))
    scheduler.start()
    await asyncio.sleep(due - time.time() + 1.0)
    scheduler.shutdown(wait=False)
    return _lateness(late)


async def run_limit(n: int) -> dict[str, Any]:
    """Plain asyncio: one call_at per task, each starting a task."""
    loop = asyncio.get_running_loop()
    late: list[float] = []
    due = time.time() + 1.0

    async def mark() -> None:
        late.append((time.time() - due) * 1000)

    # One loop instant for all (due at the same instant, like the tasks of the others; a
    # fresh ``loop.time()`` per call_at would spread them over the loop that sets them).
    delay = due - time.time()
    when = loop.time() + delay
    for _ in range(n):
        loop.call_at(when, lambda: loop.create_task(mark()))
    await asyncio.sleep(delay + 0.5)
    return _lateness(late)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    runners = {"cognia_nb": run_cognia, "apscheduler": run_aps, "asyncio_limit": run_limit}
    if args.one:
        print(json.dumps(asyncio.run(runners[args.one](args.n))))
        return 0
    impls = [i for i in runners if i != "apscheduler" or have_peer()]
    runs: dict[str, list[dict[str, Any]]] = {i: [] for i in impls}
    for repetition in range(args.repeat):
        for impl in impls:
            measured = in_fresh_process("-m", "benchmarks.w2_once_burst", "--one", impl,
                                        "--n", args.n)  # fmt: skip
            record = {"workload": "W2", "impl": impl, "n": args.n, **measured}
            runs[impl].append(record)
            emit(record)
        ours, limit = runs["cognia_nb"][-1]["last_ms"], runs["asyncio_limit"][-1]["last_ms"]
        ratio = paired([ours], [limit], GOAL_RATIO, "")["paired_ratios"][0]
        emit({"workload": "W2", "repetition": repetition + 1, "metric": "last_ms",
              "cognia_nb": ours, "asyncio_limit": limit, "paired_ratio": ratio,
              "goal_met": ratio is not None and ratio <= GOAL_RATIO})  # fmt: skip
    last = paired([r["last_ms"] for r in runs["cognia_nb"]],
                  [r["last_ms"] for r in runs["asyncio_limit"]], GOAL_RATIO,
                  "≤ asyncio limit")  # fmt: skip
    for metric in ("p50_ms", "p99_ms", "last_ms"):
        summarize("W2", metric, {i: [r[metric] for r in rs] for i, rs in runs.items()}, n=args.n,
                  **(last if metric == "last_ms" else {}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
