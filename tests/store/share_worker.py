"""Process B of the two-process tests (run as a script).

    python share_worker.py KIND LOCATION SCHEMA SECONDS    (KIND: sqlite or postgres)

Creates "job" (every 0.1 s) and "shared" (every 1 s), prints ``anchor <iso>`` for "shared",
then for SECONDS prints ``ran <time>`` for each execution of "job" and ``seen <time> <name>``
the first time a task made by another process shows up here, and finally ``status <s>``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time

from cognia_nb import Scheduler
from cognia_nb.stores import SQLiteStore, Store


def _store(kind: str, location: str, schema: str) -> Store:
    if kind == "postgres":
        from cognia_nb.stores import PostgresStore

        return PostgresStore(location, schema=schema)
    return SQLiteStore(location)


async def main(store: Store, seconds: float) -> None:
    scheduler = Scheduler(store=store, timezone="UTC").start()

    printing = threading.Lock()

    def job() -> None:  # runs in the handler pool: "job" and "shared" can print at once
        with printing:  # (print writes the text and the newline separately: one line each)
            print(f"ran {time.time():.6f}", flush=True)

    task = scheduler.create_task(name="job", handler=job, trigger={"type": "interval",
                                                                    "seconds": 0.1})  # fmt: skip
    shared = scheduler.create_task(name="shared", handler=job,
                                   trigger={"type": "interval", "seconds": 1})  # fmt: skip
    scheduler.store.flush()
    print(f"anchor {shared.trigger.start_at.isoformat()}", flush=True)  # type: ignore[attr-defined]
    known = {t.name for t in scheduler.list_tasks()}
    end = time.time() + seconds
    while time.time() < end:
        for t in scheduler.list_tasks():
            if t.name not in known:
                known.add(t.name)
                print(f"seen {time.time():.6f} {t.name}", flush=True)
        await asyncio.sleep(0.02)
    print(f"status {scheduler.get_task(task.id).status}", flush=True)
    await scheduler.stop()
    scheduler.close()


if __name__ == "__main__":
    asyncio.run(main(_store(*sys.argv[1:4]), float(sys.argv[4])))
