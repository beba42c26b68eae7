"""W7 (second half): build ``scheduler.history()`` from N stored executions vs pandas.read_sql.

    python -m benchmarks.w7_history --n 1000000 --repeat 3

Fills a SQLite store with N synthetic finished executions over 1,000 tasks, then alternates
``Scheduler.history()`` and ``pandas.read_sql("SELECT * FROM executions")`` in fresh
subprocesses, printing seconds and peak RSS growth (MB) for each.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import tempfile
import time

from ._common import in_fresh_process, summarize


def fill(path: str, n: int) -> None:
    from cognia_nb import Scheduler

    Scheduler(store=path).close()  # creates the schema
    conn = sqlite3.connect(path)
    rng = random.Random(1)
    start = time.time() - n
    rows = []
    statuses = ["succeeded"] * 18 + ["failed", "timed_out"]
    for i in range(n):
        t = start + i
        rows.append((
            f"x_{i:09d}", f"t_{i % 1000:016x}", "bench", f"task {i % 1000}", "schedule",
            statuses[i % 20], 1, t, t, t + rng.random() / 100, t + 0.01 + rng.random() / 10,
            100.0, None, None, None if statuses[i % 20] == "succeeded" else "RuntimeError: x",
            None, f'{{"rows": {i % 97}}}' if i % 10 == 0 else None, None, 0, 0, None, None,
            "bench",
        ))  # fmt: skip
        if len(rows) == 50_000:
            conn.executemany(f"INSERT INTO executions VALUES ({', '.join('?' * 23)})", rows)
            rows.clear()
    if rows:
        conn.executemany(f"INSERT INTO executions VALUES ({', '.join('?' * 23)})", rows)
    conn.commit()
    conn.close()


def measure(path: str, which: str) -> dict[str, float]:
    code = f"""
import resource, time, json, sqlite3
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import pandas as pd
from cognia_nb import Scheduler
s = Scheduler(store={path!r})
s.store.flush()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if {which!r} == "cognia":
    df = s.history()
else:
    df = pd.read_sql("SELECT * FROM executions", sqlite3.connect({path!r}))
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": dt, "mb": (peak - base) / 1024, "rows": len(df)}}))
"""
    return in_fresh_process("-c", code)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "history.db")
        fill(path, args.n)
        results: dict[str, list[dict[str, float]]] = {"cognia": [], "read_sql": []}
        for _ in range(args.repeat):
            for which, runs in results.items():
                r = measure(path, which)
                runs.append(r)
                print(json.dumps({"workload": "W7-history", "impl": which, **r}), flush=True)
        for metric in ("seconds", "mb"):
            summarize("W7-history", metric,
                      {"cognia_nb": [r[metric] for r in results["cognia"]],
                       "pandas_read_sql": [r[metric] for r in results["read_sql"]]},
                      n=args.n)  # fmt: skip


if __name__ == "__main__":
    main()
