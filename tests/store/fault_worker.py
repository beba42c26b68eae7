"""One scheduler process feeding hostile data to the SQLite writer (run as a script).

    python fault_worker.py STORE CASE

Creates two tasks whose handlers hand CASE's values to the store, runs each RUNS times,
stops and closes (which must not raise), and prints one JSON line: the execution ids, their
statuses as this process saw them and ``str(store.health)``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from cognia_nb import Scheduler, TaskContext

RUNS = 10
BIG = "x" * 1_000_000 + "é"

CASES: dict[str, dict[str, Any]] = {
    # what the handler does: progress (percent, message), its return value; the task's description
    "progress_dict": {"progress": (50, {"step": 1}), "result": "ok"},
    "surrogate_error": {"result": {"success": False, "error": "bad \udcff name"}},
    "surrogate_progress": {"progress": (10, "file \udcff\udc80.csv"), "result": "ok"},
    "surrogate_description": {"description": "reads \udcff.csv", "result": "ok"},
    "nul": {"progress": (5, "a\x00b"), "result": {"success": False, "error": "e\x00f"}},
    "big": {"progress": (99, BIG), "result": BIG},
}


def handler_for(case: dict[str, Any]) -> Any:
    async def handler(ctx: TaskContext) -> Any:
        if "progress" in case:
            ctx.report_progress(*case["progress"])
        return case["result"]

    return handler


async def main(store: str, name: str) -> None:
    case = CASES[name]
    scheduler = Scheduler(store=store, timezone="UTC").start()
    ids: list[str] = []
    for task_name in ("one", "two"):
        task = scheduler.create_task(
            name=task_name,
            handler=handler_for(case),
            trigger={"type": "event", "eventType": "never"},
            description=case.get("description", ""),
        )
        for _ in range(RUNS):
            execution_id = scheduler.run_task_now(task.id)
            await scheduler.wait_for(execution_id, timeout=30)
            ids.append(execution_id)
    statuses = [str(scheduler.get_execution(i).status) for i in ids]
    await scheduler.stop()
    health = str(scheduler.store.health)
    scheduler.close()
    print(json.dumps({"ids": ids, "statuses": statuses, "health": health}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
