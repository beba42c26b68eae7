"""A scheduler process on a shared PostgreSQL store (run as a script).

    python pg_worker.py DSN SCHEMA NAME TASKS UNTIL_TS LEASE

Creates TASKS one-second interval tasks ``t0``.. (the same in every worker: one phase for all)
with handler "tick", plus ``only-NAME`` whose handler only this process has; prints
``ready <owner>`` once started, then runs until UNTIL_TS (or until killed). Each execution
takes 0.5 s, so some are running whenever the process is killed.
"""

from __future__ import annotations

import asyncio
import sys
import time

from cognia_nb import Scheduler, TaskContext
from cognia_nb.stores import PostgresStore


async def tick(ctx: TaskContext) -> str:
    await ctx.sleep(0.5)
    return "ok"


async def main(dsn: str, schema: str, name: str, *, count: int, until: float,
               lease: float) -> None:  # fmt: skip
    store = PostgresStore(dsn, schema=schema, lease_seconds=lease)
    scheduler = Scheduler(store=store, timezone="UTC").start()
    scheduler.register_handler("tick", tick)
    scheduler.register_handler(f"mine-{name}", tick)
    every = {"type": "interval", "seconds": 1}
    for i in range(count):
        scheduler.create_task(name=f"t{i}", handler="tick", trigger=every)
    scheduler.create_task(name=f"only-{name}", handler=f"mine-{name}", trigger=every)
    store.flush()
    print(f"ready {store.owner}", flush=True)
    await asyncio.sleep(max(0.0, until - time.time()))
    await scheduler.stop()
    scheduler.close()


if __name__ == "__main__":
    dsn, schema, name, count, until, lease = sys.argv[1:7]
    asyncio.run(main(dsn, schema, name, count=int(count), until=float(until), lease=float(lease)))
