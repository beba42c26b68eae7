"""W7 (second half): build ``scheduler.history()`` from N stored executions vs pandas.read_sql.

    python -m benchmarks.w7_history --n 1000000 --repeat 3 [--postgres-repeat 1]

Fills a SQLite store with N synthetic finished executions over 1,000 tasks, then alternates
``Scheduler.history()`` and ``pandas.read_sql("SELECT * FROM executions")`` in fresh
subprocesses, printing seconds and peak RSS growth (MB) for each. With psycopg and the server
binaries, the same rows also go to a private PostgreSQL server on this machine
(``TemporaryCluster``) and ``Scheduler(store=PostgresStore(...)).history()`` is measured too,
in the first ``--postgres-repeat`` repetitions (default: all; the summaries' ``postgres_runs``
says how many).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator

from ._common import PG_DSN_ENV, in_fresh_process, pg_server, summarize

PG_SCHEMA = "w7"


def _rows(n: int) -> Iterator[tuple[object, ...]]:
    rng = random.Random(1)
    start = time.time() - n
    statuses = ["succeeded"] * 18 + ["failed", "timed_out"]
    for i in range(n):
        t = start + i
        yield (
            f"x_{i:09d}", f"t_{i % 1000:016x}", "bench", f"task {i % 1000}", "schedule",
            statuses[i % 20], 1, t, t, t + rng.random() / 100, t + 0.01 + rng.random() / 10,
            100.0, None, None, None if statuses[i % 20] == "succeeded" else "RuntimeError: x",
            None, f'{{"rows": {i % 97}}}' if i % 10 == 0 else None, None, 0, 0, None, None,
            "bench",
        )  # fmt: skip


def fill(path: str, n: int) -> None:
    from cognia_nb import Scheduler

    Scheduler(store=path).close()  # creates the schema
    conn = sqlite3.connect(path)
    rows = []
    for row in _rows(n):
        rows.append(row)
        if len(rows) == 50_000:
            conn.executemany(f"INSERT INTO executions VALUES ({', '.join('?' * 23)})", rows)
            rows.clear()
    if rows:
        conn.executemany(f"INSERT INTO executions VALUES ({', '.join('?' * 23)})", rows)
    conn.commit()
    conn.close()


def fill_pg(dsn: str, n: int) -> None:
    """The same rows in a PostgreSQL store (``COPY``), then ``ANALYZE``."""
    import psycopg

    from cognia_nb.stores import PostgresStore
    from cognia_nb.stores._codec import EXECUTION_COLUMNS

    store = PostgresStore(dsn, schema=PG_SCHEMA)
    store.open()  # creates the schema
    store.close()
    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET search_path TO {PG_SCHEMA}")
        with conn.cursor().copy(
            f"COPY executions ({', '.join(EXECUTION_COLUMNS)}) FROM STDIN"
        ) as copy:
            for row in _rows(n):
                copy.write_row(row)
        conn.commit()
        conn.execute("ANALYZE executions")


def measure(path: str, which: str) -> dict[str, float]:
    code = f"""
import resource, time, json, sqlite3
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import pandas as pd
from cognia_nb import Scheduler
if {which!r} == "cognia_pg":
    import os
    from cognia_nb.stores import PostgresStore
    s = Scheduler(store=PostgresStore(os.environ[{PG_DSN_ENV!r}], schema={PG_SCHEMA!r}))
else:
    s = Scheduler(store={path!r})
s.store.flush()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if {which!r} in ("cognia", "cognia_pg"):
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
    ap.add_argument("--postgres-repeat", type=int, help="PostgreSQL in this many repetitions")
    args = ap.parse_args()
    server = pg_server()
    try:
        _measure(args, server)
    finally:
        if server is not None:
            server.stop()


def _measure(args: argparse.Namespace, server: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "history.db")
        fill(path, args.n)
        results: dict[str, list[dict[str, float]]] = {"cognia": [], "read_sql": []}
        if server is not None:
            fill_pg(os.environ[PG_DSN_ENV], args.n)
            results["cognia_pg"] = []
        pg_repeat = args.repeat if args.postgres_repeat is None else args.postgres_repeat
        for repetition in range(args.repeat):
            for which, runs in results.items():
                if which == "cognia_pg" and repetition >= pg_repeat:
                    continue
                r = measure(path, which)
                runs.append(r)
                print(json.dumps({"workload": "W7-history", "impl": which, **r}), flush=True)
        for metric in ("seconds", "mb"):
            summarize("W7-history", metric,
                      {"cognia_nb": [r[metric] for r in results["cognia"]],
                       "pandas_read_sql": [r[metric] for r in results["read_sql"]],
                       "cognia_nb_postgres": [r[metric] for r in results.get("cognia_pg", [])]},
                      n=args.n, **({"postgres_runs": len(results["cognia_pg"])}
                                   if "cognia_pg" in results else {}))  # fmt: skip


if __name__ == "__main__":
    main()
