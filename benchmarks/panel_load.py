"""The task board under load: 1,000 tasks, 50 executions reporting progress as fast as they can.

    python -m benchmarks.panel_load --tasks 1000 --running 50 --seconds 5

The board talks to a recording comm (what would be sent to the browser is counted and sized).
Prints the build time and first snapshot size, the messages and bytes per second, the flushes,
and the loop's responsiveness (overshoot of a 10 ms sleep probe) while it all runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any


class _Comm:
    comm_id = "bench"
    kernel = "present"
    sent = 0
    bytes = 0

    def __init__(self, *a: Any, **k: Any) -> None:
        pass

    def open(self, *a: Any, **k: Any) -> None:
        pass

    def on_msg(self, *a: Any, **k: Any) -> None:
        pass

    def close(self, *a: Any, **k: Any) -> None:
        pass

    def send(self, data: Any = None, *a: Any, **k: Any) -> None:
        _Comm.sent += 1
        _Comm.bytes += len(json.dumps(data, default=str))


async def main(tasks: int, running: int, seconds: float) -> dict[str, float]:
    import comm
    from ipywidgets import Widget

    comm.create_comm = lambda **kw: _Comm()
    Widget.comm.klass = _Comm
    from cognia_nb import Scheduler, TaskContext
    from cognia_nb.jupyter._board import Board

    scheduler = Scheduler(timezone="UTC", max_concurrency=None).start()
    stop = asyncio.Event()

    async def busy(ctx: TaskContext) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            ctx.report_progress(i % 100, f"step {i}")
            await asyncio.sleep(0.001)

    scheduler.register_handler("busy", busy)
    scheduler.register_handler("idle", lambda: None)
    for i in range(tasks):
        scheduler.create_task(name=f"task {i:04d}", handler="idle" if i >= running else "busy",
                              trigger={"type": "interval", "seconds": 3600})  # fmt: skip
    build = time.perf_counter()
    board = Board(scheduler)
    board.handle("hello", {})  # a view opens: the full snapshot
    build = time.perf_counter() - build
    snapshot = _Comm.bytes
    _Comm.sent = _Comm.bytes = 0
    flushes = board.throttle.calls
    flush_ms: list[float] = []
    flush = board.throttle.fn

    def timed_flush() -> None:  # how long each flush holds the loop
        t0 = time.perf_counter()
        flush()
        flush_ms.append((time.perf_counter() - t0) * 1000)

    board.throttle.fn = timed_flush
    for i in range(running):
        scheduler.run_task_now(f"task {i:04d}")
    lags: list[float] = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        t0 = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - t0 - 0.01) * 1000)
    sent, size = _Comm.sent, _Comm.bytes
    stop.set()
    await asyncio.sleep(0.1)
    lags.sort()
    result = {
        "tasks": tasks, "running": running, "panel_build_s": round(build, 3),
        "snapshot_kb": round(snapshot / 1024), "widget_messages_per_s": round(sent / seconds),
        "widget_kb_per_s": round(size / 1024 / seconds, 1),
        "board_flushes_per_s": round((board.throttle.calls - flushes) / seconds, 1),
        "flush_ms_p50": round(sorted(flush_ms)[len(flush_ms) // 2], 2) if flush_ms else None,
        "flush_ms_max": round(max(flush_ms), 2) if flush_ms else None,
        "probe_p50_ms": round(lags[len(lags) // 2], 2),
        "probe_p99_ms": round(lags[int(len(lags) * 0.99) - 1], 2),
    }  # fmt: skip
    board.close()
    await scheduler.stop()
    scheduler.close()
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--running", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(main(args.tasks, args.running, args.seconds))))
