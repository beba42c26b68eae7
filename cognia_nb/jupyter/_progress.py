"""``ExecutionProgress``: a live progress bar for one execution (ipywidgets).

Updates are event-driven (the scheduler's hooks), coalesced to at most ``max_rate`` per second,
sent in one batch with ``hold_sync``, and always end on the final state: a finished bar turns
green (succeeded) or red (anything else).
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable
from typing import Any

from .._engine.scheduler import Scheduler
from .._model.task import Execution, ExecutionStatus, Task

__all__ = ["ExecutionProgress", "Throttle"]


class Throttle:
    """Call ``fn`` at most ``rate`` times a second; the last request always gets through.

    ``request()`` runs ``fn`` now if the last call was long enough ago, else schedules one
    deferred call (on the loop) for when it is allowed; ``flush()`` runs it now.
    """

    def __init__(self, fn: Callable[[], None], rate: float = 10.0) -> None:
        self.fn = fn
        self.interval = 1.0 / rate
        self._last = 0.0
        self._pending: asyncio.TimerHandle | None = None
        self.calls = 0

    def request(self) -> None:
        now = time.monotonic()
        wait = self._last + self.interval - now
        if wait <= 0:
            self.flush()
            return
        if self._pending is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._pending = loop.call_later(wait, self.flush)

    def flush(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._last = time.monotonic()
        self.calls += 1
        self.fn()


class ExecutionProgress:
    """A progress bar, message, elapsed time, attempt and a cancel button for one execution.

    Args:
        scheduler: the scheduler running it.
        execution_id: the execution to follow.
        max_rate: widget updates per second at most.
    """

    def __init__(self, scheduler: Scheduler, execution_id: str, max_rate: float = 10.0) -> None:
        import ipywidgets as w

        self.scheduler = scheduler
        self.execution_id = execution_id
        self.execution: Execution = scheduler.get_execution(execution_id)
        self.label = w.HTML()
        self.bar = w.FloatProgress(min=0, max=100, value=0, layout=w.Layout(width="260px"))
        self.status = w.HTML()
        self.cancel_button = w.Button(description="Cancel", button_style="warning",
                                      layout=w.Layout(width="80px"))  # fmt: skip
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.widget = w.HBox([self.label, self.bar, self.status, self.cancel_button])
        self._throttle = Throttle(self._render, max_rate)
        self._unsubscribe = [
            scheduler.on("task_progress", self._on_event),
            scheduler.on("task_start", self._on_event),
            scheduler.on("task_complete", self._on_final),
            scheduler.on("task_error", self._on_final),
        ]
        self._render()
        if self.execution.finished:
            self._stop()

    def _mine(self, ex: Execution) -> bool:
        return ex.id == self.execution_id

    def _on_event(self, task: Task, ex: Execution, *_: Any) -> None:
        if self._mine(ex):
            self.execution = ex
            self._throttle.request()

    def _on_final(self, task: Task, ex: Execution, *_: Any) -> None:
        if self._mine(ex):
            self.execution = ex
            self._throttle.flush()  # the final state always gets through
            self._stop()

    def _stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def cancel(self) -> None:
        """Cancel the execution (the button does this)."""
        self.scheduler.cancel_execution(self.execution_id)

    def _render(self) -> None:
        ex = self.execution
        percent = ex.progress if ex.progress is not None else 0.0
        if ex.status is ExecutionStatus.SUCCEEDED:
            percent, style = 100.0, "success"
        elif ex.finished:
            style = "danger"
        else:
            style = "info"
        started = ex.started_ts
        elapsed = "" if started is None else f"{(ex.finished_ts or time.time()) - started:.1f} s"
        message = html.escape(ex.progress_message or "")
        error = html.escape(ex.error or "") if ex.finished and ex.error else ""
        with self.bar.hold_sync(), self.status.hold_sync(), self.label.hold_sync():
            self.label.value = f"<b>{html.escape(ex.task_name)}</b>"
            self.bar.value = percent
            self.bar.bar_style = style
            self.status.value = (
                f"{percent:.0f}% {message} &middot; {html.escape(str(ex.status))} &middot; "
                f"attempt {ex.attempt} &middot; {elapsed} {error}"
            )
        self.cancel_button.disabled = ex.finished
        self.cancel_button.layout.display = "none" if ex.finished else "inline-flex"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        ex = self.execution
        return f"{ex.task_name}: {ex.status} {ex.progress or 0:.0f}% {ex.progress_message or ''}"
