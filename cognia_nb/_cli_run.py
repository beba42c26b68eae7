"""``cognia-nb run``: plugins in the foreground, with live progress, stopped gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from ._cli_out import EXIT_OK
from ._engine.scheduler import Scheduler
from ._engine.shutdown import STOP_GRACE
from ._model.task import Execution, ExecutionStatus, Task

__all__ = ["install_signals", "run_plugins"]

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
    dirs: list[str],
    store: str,
    duration: float | None,
    timezone: str | None,
    *,
    plain: bool,
    grace: float = STOP_GRACE,
) -> int:
    """Load the plugins, run until ``duration`` passes or a signal comes, then stop: running
    executions get ``grace`` seconds to finish (a second Ctrl-C/SIGTERM cancels them now)."""
    from .plugins import load_plugin

    scheduler = Scheduler(store=store, timezone=timezone).start()
    reporter: _PlainReporter = _PlainReporter() if plain else _LiveReporter(scheduler)
    scheduler.on("task_start", reporter.start)
    scheduler.on("task_complete", lambda t, ex, _r: reporter.finish(t, ex))
    scheduler.on("task_error", lambda t, ex, _e: reporter.finish(t, ex))
    scheduler.on("task_progress", reporter.progress)
    loaded = []
    signals = _Signals()
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
        install_signals(asyncio.get_running_loop(), signals.received)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(signals.first.wait(), duration)
    finally:
        await _stop(scheduler, signals, grace)
        for plugin in loaded:
            plugin.unload()
        reporter.close()
        scheduler.close()  # flushes the store
        sys.stdout.flush()
    return EXIT_OK


class _Signals:
    """SIGINT/SIGTERM: the first stops gracefully, the next cancels what still runs."""

    def __init__(self) -> None:
        self.first = asyncio.Event()
        self.again = asyncio.Event()

    def received(self) -> None:
        (self.again if self.first.is_set() else self.first).set()


async def _stop(scheduler: Scheduler, signals: _Signals, grace: float) -> None:
    running = [r.execution for r in scheduler._runner.live.values() if r.launched]
    if running and grace > 0:
        print(f"{_stamp()} stopping: {len(running)} running execution(s) get {grace:g} s to "
              "finish (Ctrl-C again to cancel them now)", flush=True)  # fmt: skip
    stopping = asyncio.ensure_future(scheduler.stop(grace))
    again = asyncio.ensure_future(signals.again.wait())
    await asyncio.wait((stopping, again), return_when=asyncio.FIRST_COMPLETED)
    if not stopping.done():
        print(f"{_stamp()} cancelling the running execution(s) now", flush=True)
        for run in list(scheduler._runner.live.values()):
            scheduler._runner.cancel(run, "shutdown", now=True)
    await stopping
    again.cancel()
    counts: dict[str, int] = {}
    for ex in running:
        label = "abandoned" if ex.abandoned else str(ex.status)
        counts[label] = counts.get(label, 0) + 1
    detail = ", ".join(f"{n} {label}" for label, n in sorted(counts.items()))
    print(f"{_stamp()} stopped" + (f"; running execution(s): {detail}" if detail else ""),
          flush=True)  # fmt: skip


def install_signals(loop: asyncio.AbstractEventLoop, on_signal: Callable[[], None]) -> None:
    """Call ``on_signal()`` on the loop for each SIGINT/SIGTERM."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(on_signal))
