"""W5: µs per next-fire-time call, 10 expressions in America/New_York: cognia_nb (with the DST
rules of cron/SEMANTICS.md) vs APScheduler 3.11's CronTrigger and croniter, same process,
alternating.

    python -m benchmarks.w5_cron --n 20000 --repeat 3

Each call asks for the next fire time after the previous one (a scheduler's access pattern),
in America/New_York, in runs of 100 from 2024-03-01, so that DST changes are crossed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timedelta
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
RUN = 100  # consecutive fire times per run (a monthly job: 8 years), then back to the origin


def ours(expr: str, n: int) -> float:
    trigger = CronTrigger(expr, ZONE)
    origin = datetime(2024, 3, 1, tzinfo=ZoneInfo(ZONE))
    trigger.next_fire_time(datetime(2030, 1, 1, tzinfo=ZoneInfo(ZONE)))  # warm the zone cache
    start = time.perf_counter()
    for _ in range(n // RUN):
        t = origin
        for _ in range(RUN):
            t = trigger.next_fire_time(t)  # type: ignore[assignment]
    return (time.perf_counter() - start) / (n // RUN * RUN) * 1e6


def aps(expr: str, n: int) -> float:
    from apscheduler.triggers.cron import CronTrigger as ApsCron

    fields = ["last" if f == "L" else f for f in expr.split()]  # APScheduler spells L "last"
    trigger = ApsCron.from_crontab(" ".join(fields), timezone=ZONE)
    origin = datetime(2024, 3, 1, tzinfo=ZoneInfo(ZONE))
    start = time.perf_counter()
    for _ in range(n // RUN):
        t = origin
        for _ in range(RUN):
            t = trigger.get_next_fire_time(t, t + timedelta(seconds=1))
    return (time.perf_counter() - start) / (n // RUN * RUN) * 1e6


def theirs(expr: str, n: int) -> float:
    origin = datetime(2024, 3, 1, tzinfo=ZoneInfo(ZONE))
    it = croniter(expr, origin)
    start = time.perf_counter()
    for _ in range(n // RUN):
        it.set_current(origin)
        for _ in range(RUN):
            it.get_next(datetime)
    return (time.perf_counter() - start) / (n // RUN * RUN) * 1e6


def main() -> None:
    from ._common import emit, have_peer, summarize

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--expr", action="append")
    args = ap.parse_args()
    peer = have_peer()
    runs: dict[str, list[float]] = {"cognia_nb": [], "apscheduler": [], "croniter": []}
    for expr in args.expr or EXPRESSIONS:
        a, b, c = [], [], []
        for _ in range(args.repeat):  # alternating, in one process
            a.append(ours(expr, args.n))
            if peer:
                c.append(aps(expr, args.n))
            b.append(theirs(expr, args.n))
        row = {"workload": "W5", "expr": expr, "zone": ZONE,
               "cognia_nb_us": round(statistics.median(a), 2),
               "croniter_us": round(statistics.median(b), 2)}  # fmt: skip
        if c:
            row["apscheduler_us"] = round(statistics.median(c), 2)
            runs["apscheduler"].append(statistics.median(c))
        runs["cognia_nb"].append(statistics.median(a))
        runs["croniter"].append(statistics.median(b))
        emit(row)
    summarize(
        "W5",
        "us_per_call",
        {k: v for k, v in runs.items() if v},
        note="median, min, max over the 10 expressions",
    )


if __name__ == "__main__":
    main()
