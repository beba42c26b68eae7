"""W1 (and W6, W7's first half): N one-second interval tasks, no-op async handlers, all due at
the same instant every second.

    python -m benchmarks.w1_dispatch --n 1000 10000 30000 --seconds 5 --repeat 3
    python -m benchmarks.w1_dispatch ... --postgres-n 10000 30000   # PostgreSQL at these only

Implementations: cognia_nb on the memory store, cognia_nb on SQLite (every execution
recorded), cognia_nb on PostgreSQL (a private server on this machine, ``TemporaryCluster``;
every execution recorded and every firing claimed), and the peer, APScheduler 3.11's
AsyncIOScheduler (memory job store, default job options). Each measurement runs in a fresh
process, alternating. Reported: executions achieved vs ideal, CPU µs per execution, firings
dropped (APScheduler "missed" events; cognia_nb coalesced/skipped firings), executions
persisted per second (SQLite, PostgreSQL), and the overshoot of a
probe ``await asyncio.sleep(0.01)`` (p50/p99/max ms): the loop's responsiveness (W6).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from ._common import PG_DSN_ENV, emit, have_peer, in_fresh_process, pg_server, summarize

IMPLS = ("cognia_nb_memory", "cognia_nb_sqlite", "cognia_nb_postgres", "apscheduler")


async def _probe(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - t0 - 0.01) * 1000)


PROBE = False  # W6: a 10 ms sleep probe measures the loop (it also costs CPU: W1 runs without)


async def _window(seconds: float, anchor: float) -> tuple[float, float, list[float], float]:
    await asyncio.sleep(max(0.0, anchor - time.time() - 0.3))
    stop, lags = asyncio.Event(), []
    prober = asyncio.ensure_future(_probe(stop, lags) if PROBE else stop.wait())
    cpu0, wall0 = time.process_time(), time.time()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.time() - wall0
    stop.set()
    await prober
    return cpu, wall, lags, wall0


def _persisted(store: Any, since: float, until: float) -> float:
    """Succeeded executions stored per second within the window."""
    sql = ("SELECT count(*) FROM executions WHERE status = 'succeeded' AND created_ts >= ? "
           "AND created_ts < ?")  # fmt: skip
    if isinstance(store, str):
        import sqlite3

        with sqlite3.connect(store) as conn:
            return float(conn.execute(sql, (since, until)).fetchone()[0]) / (until - since)
    import psycopg
    from psycopg import sql as pgsql

    with psycopg.connect(os.environ[PG_DSN_ENV]) as pg:
        pg.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(store.schema)))
        row = pg.execute(sql.replace("?", "%s"), (since, until)).fetchone()  # type: ignore[arg-type]
    return float(row[0]) / (until - since)


async def run_cognia(n: int, seconds: float, store: Any) -> dict[str, Any]:
    from cognia_nb import Scheduler, TaskContext
    from cognia_nb.triggers import IntervalTrigger

    async def noop(ctx: TaskContext) -> None:
        return None

    scheduler = Scheduler(store=store, timezone="UTC", max_concurrency=None)
    scheduler.register_handler("noop", noop)
    anchor = float(int(time.time()) + 3)
    trigger = IntervalTrigger(1, datetime.fromtimestamp(anchor, UTC))
    for i in range(n):
        scheduler.create_task(name=f"t{i}", handler="noop", trigger=trigger)
    scheduler.start()
    before = sum(t.run_count for t in scheduler.list_tasks())
    missed0 = sum(t.missed_count + t.skipped_count for t in scheduler.list_tasks())
    cpu, wall, lags, wall0 = await _window(seconds, anchor)
    executed = sum(t.run_count for t in scheduler.list_tasks()) - before
    dropped = sum(t.missed_count + t.skipped_count for t in scheduler.list_tasks()) - missed0
    await scheduler.stop()
    scheduler.close()
    persisted = None if store == "memory" else _persisted(store, wall0, wall0 + wall)
    return _result(n, seconds, wall, cpu, executed, dropped, lags, persisted)


async def run_aps(n: int, seconds: float) -> dict[str, Any]:
    from apscheduler.events import EVENT_JOB_MISSED
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    counts = {"run": 0, "missed": 0}

    async def noop() -> None:
        counts["run"] += 1

    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_listener(lambda ev: counts.__setitem__("missed", counts["missed"] + 1),
                           EVENT_JOB_MISSED)  # fmt: skip
    anchor = float(int(time.time()) + 3)
    start = datetime.fromtimestamp(anchor, UTC)
    for i in range(n):
        scheduler.add_job(noop, IntervalTrigger(seconds=1, start_date=start), id=str(i))
    scheduler.start()
    run0, missed0 = counts["run"], counts["missed"]
    cpu, wall, lags, _ = await _window(seconds, anchor)
    executed, dropped = counts["run"] - run0, counts["missed"] - missed0
    scheduler.shutdown(wait=False)
    return _result(n, seconds, wall, cpu, executed, dropped, lags, None)


def _result(  # noqa: PLR0917
    n: int,
    seconds: float,
    wall: float,
    cpu: float,
    executed: int,
    dropped: int,
    lags: list[float],
    persisted: float | None,
) -> dict[str, Any]:
    lags.sort()
    return {
        "n": n, "window_s": round(wall, 2), "executed": executed, "ideal": int(n * seconds),
        "executed_fraction": round(executed / max(1, n * seconds), 3),
        # nothing executed: CPU per execution is undefined (not a huge number)
        "cpu_us_per_exec": round(cpu / executed * 1e6, 2) if executed else None,
        "dropped": dropped,
        "persisted_per_s": None if persisted is None else round(persisted),
        "probe_p50_ms": round(lags[len(lags) // 2], 2) if lags else None,
        "probe_p99_ms": round(lags[max(0, int(len(lags) * 0.99) - 1)], 2) if lags else None,
        "probe_max_ms": round(lags[-1], 2) if lags else None,
    }  # fmt: skip


def one(impl: str, n: int, seconds: float) -> dict[str, Any]:
    """One measurement, in this process."""
    if impl == "apscheduler":
        return asyncio.run(run_aps(n, seconds))
    store: Any = "memory"
    if impl == "cognia_nb_sqlite":
        store = os.path.join(tempfile.mkdtemp(), "w1.db")
    elif impl == "cognia_nb_postgres":
        from cognia_nb.stores import PostgresStore

        store = PostgresStore(os.environ[PG_DSN_ENV], schema=f"w1_{os.getpid()}")
    return asyncio.run(run_cognia(n, seconds, store))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 10_000, 30_000])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--impl", nargs="+", default=list(IMPLS))
    ap.add_argument("--probe", action="store_true", help="W6: measure the loop with a probe")
    ap.add_argument("--postgres-n", type=int, nargs="+", metavar="N",
                    help="cognia_nb_postgres at these --n only (default: all)")  # fmt: skip
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        global PROBE  # noqa: PLW0603 - a flag of this one-shot process
        PROBE = args.probe
        print(json.dumps(one(args.one, args.n[0], args.seconds)))
        return 0
    impls = [i for i in args.impl if i != "apscheduler" or have_peer()]
    if args.postgres_n and not set(args.postgres_n) & set(args.n):
        impls = [i for i in impls if i != "cognia_nb_postgres"]
    server = pg_server() if "cognia_nb_postgres" in impls else None
    if server is None and "cognia_nb_postgres" in impls:
        impls.remove("cognia_nb_postgres")
    try:
        _measure(args, impls)
    finally:
        if server is not None:
            server.stop()
    return 0


def _measure(args: argparse.Namespace, impls: list[str]) -> None:
    for n in args.n:
        at_n = [i for i in impls if i != "cognia_nb_postgres" or n in (args.postgres_n or [n])]
        runs: dict[str, list[dict[str, Any]]] = {i: [] for i in at_n}
        for _ in range(args.repeat):
            for impl in at_n:  # alternating, a fresh process each
                measured = in_fresh_process(
                    "-m", "benchmarks.w1_dispatch", "--one", impl, "--n", n,
                    "--seconds", args.seconds, *(["--probe"] if args.probe else []),
                )  # fmt: skip
                record = {"workload": "W6" if args.probe else "W1", "impl": impl, **measured}
                runs[impl].append(record)
                emit(record)
        metrics = (("probe_p50_ms", "probe_p99_ms", "probe_max_ms") if args.probe
                   else ("cpu_us_per_exec", "executed_fraction", "dropped"))  # fmt: skip
        for metric in metrics:
            summarize(
                "W6" if args.probe else "W1",
                metric,
                {impl: [r[metric] for r in rs] for impl, rs in runs.items()},
                n=n,
            )
        stores = ("cognia_nb_sqlite", "cognia_nb_postgres")
        persisted = {i: [r["persisted_per_s"] for r in runs[i]] for i in stores if runs.get(i)}
        if persisted:
            summarize("W7-persist", "persisted_per_s", persisted, n=n)


if __name__ == "__main__":
    sys.exit(main())
