"""``cognia-nb run``: plugins in the foreground, with live progress, stopped gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from typing import Any

from ._models import Execution, ExecutionStatus, Task
from ._scheduler import Scheduler

__all__ = ["run_plugins"]

_MARK = {"succeeded": "ok", "failed": "FAILED", "timed_out": "TIMED OUT",
         "cancelled": "cancelled", "interrupted": "interrupted"}  # fmt: skip


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


class _PlainReporter:
    """One line per start and finish (for logs and pipes)."""

    def start(self, task: Task, ex: Execution) -> None:
        print(f"{_stamp()} start   {task.plugin_id}/{task.name} ({ex.id}, {ex.trigger_kind})",
              flush=True)  # fmt: skip

    def finish(self, task: Task, ex: Execution) -> None:
        took = "" if ex.duration is None else f" in {ex.duration:.2f}s"
        detail = f" output={ex.output!r}" if ex.output is not None else ""
        if ex.error and ex.status is not ExecutionStatus.SUCCEEDED:
            detail = f" error={ex.error}"
        print(f"{_stamp()} {_MARK.get(str(ex.status), str(ex.status)):<7} {task.plugin_id}/"
              f"{task.name}{took}{detail}", flush=True)  # fmt: skip

    def progress(self, task: Task, ex: Execution) -> None:
        return None

    def close(self) -> None:
        return None


class _LiveReporter(_PlainReporter):
    """A rich live table of running executions (progress bars), finished lines above it."""

    def __init__(self, scheduler: Scheduler) -> None:
        from rich.console import Console
        from rich.live import Live

        self.scheduler = scheduler
        self.console = Console()
        self.live = Live(self._render(), console=self.console, refresh_per_second=8,
                         transient=True)  # fmt: skip
        self.live.start()

    def _render(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        table = Table("running", "progress", "", "elapsed", "attempt", box=None)
        now = time.time()
        for run in list(self.scheduler._runner.live.values()):
            ex = run.execution
            if ex.status is not ExecutionStatus.RUNNING:
                continue
            percent = ex.progress or 0.0
            table.add_row(f"{run.task.plugin_id}/{run.task.name}",
                          ProgressBar(total=100, completed=percent, width=30),
                          f"{percent:5.1f}% {ex.progress_message or ''}",
                          f"{now - (ex.started_ts or now):.1f}s", str(ex.attempt))  # fmt: skip
        return table

    def start(self, task: Task, ex: Execution) -> None:
        self.live.update(self._render())

    def finish(self, task: Task, ex: Execution) -> None:
        took = "" if ex.duration is None else f" in {ex.duration:.2f}s"
        colour = "green" if ex.status is ExecutionStatus.SUCCEEDED else "red"
        detail = f" {ex.error}" if ex.error and ex.status is not ExecutionStatus.SUCCEEDED else ""
        self.console.print(f"{_stamp()} [{colour}]{_MARK.get(str(ex.status), ex.status)}"
                           f"[/{colour}] {task.plugin_id}/{task.name}{took}{detail}",
                           markup=True, highlight=False)  # fmt: skip
        self.live.update(self._render())

    def progress(self, task: Task, ex: Execution) -> None:
        self.live.update(self._render())

    def close(self) -> None:
        self.live.stop()


async def run_plugins(
    dirs: list[str], store: str, duration: float | None, timezone: str | None, *, plain: bool
) -> int:
    """Load the plugins, run until ``duration`` passes or a signal comes, stop gracefully."""
    from .cli import EXIT_OK, _install_signals
    from .plugins import load_plugin

    scheduler = Scheduler(store=store, timezone=timezone).start()
    reporter: _PlainReporter = _PlainReporter() if plain else _LiveReporter(scheduler)
    scheduler.on("task_start", reporter.start)
    scheduler.on("task_complete", lambda t, ex, _r: reporter.finish(t, ex))
    scheduler.on("task_error", lambda t, ex, _e: reporter.finish(t, ex))
    scheduler.on("task_progress", reporter.progress)
    loaded = []
    try:
        for directory in dirs:
            plugin = load_plugin(directory, scheduler)
            loaded.append(plugin)
            for task in plugin.tasks:
                when = task.next_run_at.isoformat(timespec="seconds") if task.next_run_at else "-"
                print(f"{_stamp()} loaded  {plugin.plugin_id}/{task.name}: {task.describe()}; "
                      f"next {when}", flush=True)  # fmt: skip
            for name, why in plugin.skipped:
                print(f"{_stamp()} skipped {plugin.plugin_id}/{name}: {why}", flush=True)
        print(f"{_stamp()} running {len(scheduler.list_tasks())} task(s) on {store} "
              f"(Ctrl-C to stop)", flush=True)  # fmt: skip
        stop = asyncio.Event()
        _install_signals(asyncio.get_running_loop(), stop)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration)
    finally:
        running = [r.execution for r in scheduler._runner.live.values()]
        for plugin in loaded:
            plugin.unload()
        await scheduler.stop()  # running executions are cancelled and recorded
        reporter.close()
        scheduler.close()  # flushes the store
        if running:
            print(f"{_stamp()} stopped; {len(running)} running execution(s) recorded as "
                  "cancelled", flush=True)  # fmt: skip
        else:
            print(f"{_stamp()} stopped", flush=True)
        sys.stdout.flush()
    return EXIT_OK
