"""A process that creates interval task "tick" (0.5 s) on a shared store and runs it (script).

    python tick_worker.py STORE UNTIL_TS

Prints ``ran <time>`` for each execution it ran, then ``anchor <iso>`` of its task.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time

from cognia_nb import Scheduler


async def main(store: str, until: float) -> None:
    scheduler = Scheduler(store=store, timezone="UTC").start()

    printing = threading.Lock()  # print writes the text and the newline separately

    def tick() -> None:  # in the handler pool, while the main thread may print its anchor
        with printing:
            print(f"ran {time.time():.6f}", flush=True)

    task = scheduler.create_task(name="tick", handler=tick,
                                 trigger={"type": "interval", "seconds": 0.5})  # fmt: skip
    await asyncio.sleep(max(0.0, until - time.time()))
    with printing:
        print(f"anchor {task.trigger.start_at.isoformat()}", flush=True)  # type: ignore[attr-defined]
    await scheduler.stop()
    scheduler.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
