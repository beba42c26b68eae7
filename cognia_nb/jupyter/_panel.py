"""The panel: header, task table, running executions, a log view and a history tab.

Everything updates from the scheduler's hooks (never by polling), coalesced per widget to at
most ~10 updates a second, and ends on the final state. Every user-supplied string is escaped.
Without ipywidgets' front end (a terminal, plain IPython) :func:`make_panel` returns a text and
HTML table and says why.
"""

from __future__ import annotations

import html
import time
from collections import deque
from typing import Any

from .._models import Execution, ExecutionStatus, Task
from .._scheduler import Scheduler
from ._display import TaskTableView
from ._progress import ExecutionProgress, Throttle
from ._table import TaskTable

__all__ = ["ExecutionLog", "Panel", "TextPanel", "make_panel"]

FAILED = (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT)
KEEP_FINISHED = 5


class ExecutionLog:
    """The log lines of one execution (chosen from the recent ones), newest last."""

    def __init__(self, scheduler: Scheduler, max_rate: float = 10.0, limit: int = 200) -> None:
        import ipywidgets as w

        self.scheduler = scheduler
        self.limit = limit
        self.choice = w.Dropdown(description="execution", options=[], layout=w.Layout(width="60%"))
        self.text = w.HTML()
        self.widget = w.VBox([self.choice, self.text])
        self.recent: deque[tuple[str, str]] = deque(maxlen=30)  # (label, execution id)
        self.throttle = Throttle(self.refresh, max_rate)
        self.choice.observe(lambda _c: self.throttle.flush(), names="value")
        self._unsubscribe = [scheduler.on("task_start", self._on_start),
                             scheduler.on("task_progress", self._on_progress),
                             scheduler.on("task_complete", self._on_progress),
                             scheduler.on("task_error", self._on_progress)]  # fmt: skip
        self.refresh()

    def select(self, execution_id: str) -> None:
        """Show one execution's log."""
        if execution_id not in [i for _, i in self.recent]:
            ex = self.scheduler.get_execution(execution_id)
            self.recent.appendleft((f"{ex.task_name} · {ex.id}", ex.id))
            self.choice.options = list(self.recent)
        self.choice.value = execution_id

    def _on_start(self, task: Task, ex: Execution, *_: Any) -> None:
        self.recent.appendleft((f"{task.name} · {ex.id}", ex.id))
        with self.choice.hold_sync():
            current = self.choice.value
            self.choice.options = list(self.recent)
            self.choice.value = current if current in [i for _, i in self.recent] else ex.id

    def _on_progress(self, task: Task, ex: Execution, *_: Any) -> None:
        if ex.id == self.choice.value:
            self.throttle.request()

    def refresh(self) -> None:
        """Redraw the selected execution's log."""
        if not self.choice.value:
            self.text.value = "<i>no execution selected</i>"
            return
        ex = self.scheduler.get_execution(self.choice.value)
        lines = list(ex._logs or ())[-self.limit :]
        body = "\n".join(
            f"{time.strftime('%H:%M:%S', time.gmtime(e.ts))} {html.escape(e.level):<7} "
            f"{html.escape(e.message)}" for e in lines
        )  # fmt: skip
        status = html.escape(f"{ex.status}" + (f" · {ex.error}" if ex.error else ""))
        self.text.value = (f"<div><b>{html.escape(ex.task_name)}</b> · {status}</div>"
                           f"<pre style='max-height:20em;overflow:auto'>{body}</pre>")  # fmt: skip

    def close(self) -> None:
        """Stop listening."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()


class Panel:
    """The scheduler panel (``cognia_nb.panel()`` / ``%cognia panel``)."""

    def __init__(self, scheduler: Scheduler, page_size: int = 50, max_rate: float = 10.0) -> None:
        import ipywidgets as w

        self.scheduler = scheduler
        self.header = w.HTML()
        self.table = TaskTable(scheduler, page_size=page_size, max_rate=max_rate)
        self.running_box = w.VBox([])
        self.progress: dict[str, ExecutionProgress] = {}
        self.finished: deque[str] = deque()
        self.log = ExecutionLog(scheduler, max_rate=max_rate)
        self.history_html = w.HTML()
        self.timeline_out = w.Output()
        refresh = w.Button(description="Refresh history")
        refresh.on_click(lambda _b: self.refresh_history(plot=True))
        overview = w.VBox([self.table.widget, w.HTML("<b>Executions</b> (running and recent)"),
                           self.running_box,
                           w.HTML("<b>Log</b>"), self.log.widget])  # fmt: skip
        history = w.VBox([refresh, self.history_html, self.timeline_out])
        self.tabs = w.Tab(children=[overview, history])
        self.tabs.set_title(0, "Tasks")
        self.tabs.set_title(1, "History")
        self.widget = w.VBox([self.header, self.tabs])
        self.failed_today = len(scheduler.store.list_executions(
            statuses=list(FAILED), since_ts=scheduler.clock.now() - 86_400))  # fmt: skip
        self.header_throttle = Throttle(self.refresh_header, max_rate)
        self._unsubscribe = [scheduler.on("task_start", self._on_start),
                             scheduler.on("task_complete", self._on_finish),
                             scheduler.on("task_error", self._on_finish)]  # fmt: skip
        for name in ("task_create", "task_delete", "task_pause", "task_resume"):
            self._unsubscribe.append(scheduler.on(name, lambda *_: self.header_throttle.request()))
        for run in list(scheduler._runner.live.values()):
            if run.execution.status is ExecutionStatus.RUNNING:
                self._add_progress(run.execution.id)
        self.refresh_header()
        self.refresh_history(plot=False)

    def _add_progress(self, execution_id: str) -> None:
        bar = ExecutionProgress(self.scheduler, execution_id)
        self.progress[execution_id] = bar
        self.running_box.children = [*self.running_box.children, bar.widget]

    def _on_start(self, task: Task, ex: Execution, *_: Any) -> None:
        if ex.id not in self.progress:
            self._add_progress(ex.id)
        self.header_throttle.request()

    def _on_finish(self, task: Task, ex: Execution, *_: Any) -> None:
        if ex.status in FAILED:
            self.failed_today += 1
        if ex.id in self.progress:
            self.finished.append(ex.id)
            while len(self.finished) > KEEP_FINISHED:  # finished bars stay green/red a while
                old = self.progress.pop(self.finished.popleft(), None)
                if old is not None:
                    self.running_box.children = [c for c in self.running_box.children
                                                 if c is not old.widget]  # fmt: skip
        self.header_throttle.request()

    def refresh_header(self) -> None:
        """Redraw the header line."""
        s = self.scheduler
        tasks = len(s.list_tasks())
        running = sum(1 for r in s._runner.live.values()
                      if r.execution.status is ExecutionStatus.RUNNING)  # fmt: skip
        state = "running" if s.running else "stopped"
        self.header.value = (
            f"<b>cognia_nb</b> · scheduler {state} · store <code>"
            f"{html.escape(s.store.location)}</code> · {tasks} task(s) · {running} running · "
            f"{self.failed_today} failed in the last day"
        )

    def refresh_history(self, *, plot: bool) -> None:
        """Redraw the latest executions (and the timeline when ``plot``)."""
        rows = self.scheduler.store.list_executions(limit=20)
        cells = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                e.task_name, e.status, e.trigger_kind, e.attempt,
                "-" if e.duration is None else f"{e.duration:.2f} s", e.error or ""))
            + "</tr>" for e in rows
        )  # fmt: skip
        self.history_html.value = (
            "<table><tr><th>task</th><th>status</th><th>kind</th><th>attempts</th>"
            f"<th>duration</th><th>error</th></tr>{cells}</table>"
        )
        if plot:
            from IPython.display import display

            self.timeline_out.clear_output(wait=True)
            with self.timeline_out:
                display(self.scheduler.timeline())

    def close(self) -> None:
        """Stop listening to the scheduler."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self.table.close()
        self.log.close()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class TextPanel:
    """The panel without a widget front end: the task table as text and HTML, with why."""

    def __init__(self, scheduler: Scheduler, reason: str) -> None:
        self.table = TaskTableView(scheduler.list_tasks())
        self.reason = reason

    def __repr__(self) -> str:
        return f"({self.reason})\n{self.table!r}"

    def _repr_html_(self) -> str:
        return f"<p><i>{html.escape(self.reason)}</i></p>{self.table._repr_html_()}"


def make_panel(scheduler: Scheduler) -> Panel | TextPanel:
    """A widget :class:`Panel` in a Jupyter kernel, else a :class:`TextPanel` saying why."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return TextPanel(scheduler, "ipywidgets is not installed: showing a text table")
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return TextPanel(scheduler, "not running in IPython: showing a text table")
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return TextPanel(scheduler, "no Jupyter front end for widgets here (a terminal or plain "
                         "IPython): showing a text table")  # fmt: skip
    return Panel(scheduler)
