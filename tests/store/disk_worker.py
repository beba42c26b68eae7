"""A scheduler process whose store's disk fills up (run as a script, on a small tmpfs).

    python disk_worker.py STORE MODE

Runs BEFORE executions, fills the file system, runs DURING executions with 200 KB outputs
(their commits fail), then MODE "recover" frees the space and waits for the writer to catch
up, MODE "give_up" stops while the disk is still full. Prints one JSON line: health while
full, health at the end, the ids of the executions, and whether stop/close raised.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import sys
import time
from pathlib import Path

from cognia_nb import Scheduler, TaskContext

BEFORE, DURING = 3, 5
OUTPUT = "y" * 200_000


async def handler(ctx: TaskContext) -> str:
    return OUTPUT


def fill(directory: Path) -> Path:
    filler = directory / "filler"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o600)
    block = b"\0" * 65536
    try:
        while True:
            os.write(fd, block)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    try:  # the last bytes
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    os.close(fd)
    return filler


async def main(store: str, mode: str) -> None:
    scheduler = Scheduler(store=store, timezone="UTC").start()
    task = scheduler.create_task(
        name="big", handler=handler, trigger={"type": "event", "eventType": "never"}
    )
    ids = []
    for _ in range(BEFORE):
        ids.append(scheduler.run_task_now(task.id))
        await scheduler.wait_for(ids[-1], timeout=30)
    scheduler.store.flush()
    filler = fill(Path(store).parent)
    for _ in range(DURING):
        ids.append(scheduler.run_task_now(task.id))
        await scheduler.wait_for(ids[-1], timeout=30)
    deadline = time.monotonic() + 10
    while scheduler.store.health.ok and time.monotonic() < deadline:
        scheduler.store.flush()
        await asyncio.sleep(0.05)
    full = scheduler.store.health
    if mode == "recover":
        filler.unlink()
        deadline = time.monotonic() + 20
        while not scheduler.store.health.ok and time.monotonic() < deadline:
            scheduler.store.flush()
            await asyncio.sleep(0.1)
    raised = None
    try:
        await scheduler.stop()
        scheduler.close()
    except Exception as exc:  # the test asserts there is none
        raised = repr(exc)
    end = scheduler.store.health
    print(json.dumps({
        "full_ok": full.ok, "full": str(full), "full_error": full.error,
        "end_ok": end.ok, "end": str(end), "lost": end.lost, "ids": ids, "raised": raised,
    }), flush=True)  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
