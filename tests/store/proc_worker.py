"""A scheduler process for the multi-process and SIGKILL tests (run as a script).

    python proc_worker.py STORE MODE UNTIL_TS [DURABILITY]

MODE "share": register handler "h" and run the tasks already in the store until UNTIL_TS.
MODE "kill": create a fast interval task and a never-ending task, print "<time> <id>" for each
finished execution, and run until killed.
"""

from __future__ import annotations

import asyncio
import sys
import time

from cognia_nb import Scheduler, TaskContext


async def fast(ctx: TaskContext) -> str:
    return "ok"


async def forever(ctx: TaskContext) -> None:
    await ctx.signal.wait()


async def main(store: str, mode: str, until: float, durability: str = "group") -> None:
    scheduler = Scheduler(store=store, timezone="UTC", durability=durability).start()
    if mode == "share":
        scheduler.register_handler("h", fast)
    else:
        scheduler.register_handler("fast", fast)
        scheduler.register_handler("forever", forever)
        scheduler.on(
            "task_complete",
            lambda task, ex, result: print(f"{time.time():.6f} {ex.id}", flush=True),
        )
        scheduler.create_task(
            name="fast", handler="fast", trigger={"type": "interval", "seconds": 0.02}
        )
        stuck = scheduler.create_task(
            name="forever", handler="forever", trigger={"type": "event", "eventType": "never"}
        )
        print(f"running {scheduler.run_task_now(stuck.id)}", flush=True)
    await asyncio.sleep(max(0.0, until - time.time()))
    await scheduler.stop()
    scheduler.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), *sys.argv[4:]))
