"""W5-style: µs per next-fire-time call, cognia_nb vs croniter, same process, alternating.

    python -m benchmarks.cron_next --n 20000 --repeat 3

Each call asks for the next fire time after the previous one (a scheduler's access pattern),
in America/New_York, starting 2024-03-01 so that both DST changes are crossed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from cognia_nb.triggers import CronTrigger

EXPRESSIONS = [
    "*/5 * * * *",
    "30 2 * * *",
    "0 9 * * 1-5",
    "0 */2 * * *",
    "15 10 1 * *",
    "0 0 * * 0",
    "*/15 9-17 * * MON-FRI",
    "0 12 L * *",
    "45 23 * * 6",
    "0 6,18 * * *",
]
ZONE = "America/New_York"


def ours(expr: str, n: int) -> float:
    trigger = CronTrigger(expr, ZONE)
    t = datetime(2024, 3, 1, tzinfo=ZoneInfo(ZONE))
    trigger.next_fire_time(t)  # warm the zone cache
    start = time.perf_counter()
    for _ in range(n):
        t = trigger.next_fire_time(t)  # type: ignore[assignment]
    return (time.perf_counter() - start) / n * 1e6


def theirs(expr: str, n: int) -> float:
    it = croniter(expr, datetime(2024, 3, 1, tzinfo=ZoneInfo(ZONE)))
    start = time.perf_counter()
    for _ in range(n):
        it.get_next(datetime)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--expr", action="append")
    args = ap.parse_args()
    for expr in args.expr or EXPRESSIONS:
        a, b = [], []
        for _ in range(args.repeat):
            a.append(ours(expr, args.n))
            b.append(theirs(expr, args.n))
        print(
            json.dumps(
                {
                    "expr": expr,
                    "zone": ZONE,
                    "cognia_us": round(statistics.median(a), 2),
                    "croniter_us": round(statistics.median(b), 2),
                    "ratio": round(statistics.median(a) / statistics.median(b), 3),
                }
            )
        )


if __name__ == "__main__":
    main()
