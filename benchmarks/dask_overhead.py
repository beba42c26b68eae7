"""Per-execution overhead through Dask versus in the scheduler's process, same run.

    python -m benchmarks.dask_overhead --n 200

A LocalCluster with 2 worker processes on 127.0.0.1; N no-op sync executions each way, run
one after the other (wall time per execution, waiting for each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any


async def main(n: int) -> dict[str, Any]:
    from cognia_nb import Scheduler
    from cognia_nb.executors import DaskExecutor

    executor = DaskExecutor(n_workers=2)
    scheduler = Scheduler(timezone="UTC", executors={"dask": executor}).start()
    scheduler.register_handler("noop", lambda: None)
    results = {}
    for name, kind in (("in_process", "default"), ("dask", "dask")):
        task = scheduler.create_task(name=name, handler="noop", executor=kind,
                                     trigger={"type": "event", "eventType": "x"})  # fmt: skip
        await scheduler.wait_for(scheduler.run_task_now(task.id), 60)  # warm (cluster start)
        start = time.perf_counter()
        for _ in range(n):
            await scheduler.wait_for(scheduler.run_task_now(task.id), 60)
        results[f"{name}_ms_per_execution"] = round((time.perf_counter() - start) / n * 1000, 3)
    await scheduler.stop()
    scheduler.close()
    return {"n": n, **results}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    print(json.dumps(asyncio.run(main(ap.parse_args().n))))
