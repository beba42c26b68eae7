"""``TaskTable``: the task table widget, paged, filtered, with per-row buttons.

A fixed pool of ``page_size`` row widgets is created once and refilled on refresh, so 1,000
tasks cost one page of widgets. Refreshes are requested by the scheduler's hooks and coalesced
(:class:`~cognia_nb.jupyter._progress.Throttle`) to at most ``max_rate`` per second; every
string shown is HTML-escaped.
"""

from __future__ import annotations

import html
import time
from collections import deque
from typing import Any

from .._models import Execution, ExecutionStatus, Task, TaskStatus
from .._scheduler import Scheduler
from ._display import when
from ._progress import Throttle

__all__ = ["TaskTable"]

HEADERS = ("task", "plugin", "schedule", "status", "next run", "last result", "success",
           "skip / miss")  # fmt: skip
_WIDTHS = ("14%", "10%", "19%", "8%", "17%", "14%", "7%", "8%")
_CELLS_WIDTH = "calc(100% - 280px)"  # the rest holds the three buttons
ALL = "(all)"
CONFIRM_SECONDS = 5.0


class _TaskStats:
    """What the table shows about a task's recent executions (kept from the hooks)."""

    def __init__(self) -> None:
        self.recent: deque[tuple[str, float | None]] = deque(maxlen=20)  # (status, duration)

    def add(self, ex: Execution) -> None:
        self.recent.append((str(ex.status), ex.duration))

    def last(self) -> str:
        if not self.recent:
            return "-"
        status, duration = self.recent[-1]
        return status if duration is None else f"{status} ({duration:.2f} s)"

    def success(self) -> str:
        done = [s for s, _ in self.recent if s != ExecutionStatus.CANCELLED]
        if not done:
            return "-"
        return f"{100 * sum(s == ExecutionStatus.SUCCEEDED for s in done) / len(done):.0f}%"


def _short_plugin(plugin_id: str) -> str:
    """``notebook:/a/b/analysis.ipynb`` -> ``notebook:analysis.ipynb`` (full id in the tooltip)."""
    kind, sep, path = plugin_id.partition(":")
    return f"{kind}:{path.rsplit('/', 1)[-1]}" if sep and "/" in path else plugin_id


class _Row:
    def __init__(self, table: TaskTable) -> None:
        import ipywidgets as w

        self.table = table
        self.task_id: str | None = None
        self.cells = [w.HTML(layout=w.Layout(width=width, overflow="hidden")) for width in _WIDTHS]
        small = w.Layout(width="86px", min_width="86px")
        self.run = w.Button(description="Run now", layout=small, tooltip="run this task now")
        self.toggle = w.Button(description="Pause", layout=small)
        self.delete = w.Button(description="Delete", layout=small, button_style="")
        self.run.on_click(lambda _b: self.table._run(self.task_id))
        self.toggle.on_click(lambda _b: self.table._toggle(self.task_id))
        self.delete.on_click(lambda _b: self.table._delete(self.task_id, self))
        self.confirm_until = 0.0
        self.box = w.HBox([w.HBox(self.cells, layout=w.Layout(width=_CELLS_WIDTH)),
                           self.run, self.toggle, self.delete])  # fmt: skip

    def show(self, task: Task | None, stats: _TaskStats | None, now: float) -> None:
        self.task_id = task.id if task else None
        self.box.layout.display = "flex" if task else "none"
        if task is None or stats is None:
            return
        state = "handler missing" if task.handler_missing else str(task.status)
        values = (
            task.name,
            task.plugin_id,
            task.describe(),
            state,
            when(task, now),
            stats.last(),
            stats.success(),
            f"{task.skipped_count} / {task.missed_count}",
        )
        shown = list(values)
        shown[1] = _short_plugin(task.plugin_id)
        for cell, value, full in zip(self.cells, shown, values, strict=True):
            text = (
                f"<div title='{html.escape(full, quote=True)}' style='overflow:hidden;"
                f"text-overflow:ellipsis;white-space:nowrap'>{html.escape(value)}</div>"
            )
            if cell.value != text:
                cell.value = text
        self.toggle.description = "Resume" if task.status is TaskStatus.PAUSED else "Pause"
        self.toggle.disabled = task.status is TaskStatus.COMPLETED
        self.run.disabled = task.handler_missing
        confirming = time.monotonic() < self.confirm_until
        self.delete.description = "Confirm?" if confirming else "Delete"
        self.delete.button_style = "danger" if confirming else ""


class TaskTable:
    """The scheduler's tasks as a widget: filters, pages of ``page_size``, buttons per row.

    Args:
        scheduler: the scheduler to show and control.
        page_size: rows per page.
        max_rate: refreshes per second at most.
    """

    def __init__(self, scheduler: Scheduler, page_size: int = 50, max_rate: float = 10.0) -> None:
        import ipywidgets as w

        self.scheduler = scheduler
        self.page_size = page_size
        self.page = 0
        self.stats: dict[str, _TaskStats] = {}
        self.tag = w.Dropdown(description="tag", options=[ALL], value=ALL,
                              layout=w.Layout(width="220px"))  # fmt: skip
        self.status = w.Dropdown(description="status", options=[ALL, *map(str, TaskStatus)],
                                 value=ALL, layout=w.Layout(width="220px"))  # fmt: skip
        self.prev = w.Button(description="◀", layout=w.Layout(width="40px"))
        self.next = w.Button(description="▶", layout=w.Layout(width="40px"))
        self.page_label = w.Label()
        self.prev.on_click(lambda _b: self.turn(-1))
        self.next.on_click(lambda _b: self.turn(1))
        self.tag.observe(lambda _c: self._filters_changed(), names="value")
        self.status.observe(lambda _c: self._filters_changed(), names="value")
        header = w.HBox([w.HTML(f"<b>{h}</b>", layout=w.Layout(width=width, overflow="hidden"))
                         for h, width in zip(HEADERS, _WIDTHS, strict=True)],
                        layout=w.Layout(width=_CELLS_WIDTH))  # fmt: skip
        self.rows = [_Row(self) for _ in range(page_size)]
        self.empty = w.HTML("<i>no tasks</i>")
        self.widget = w.VBox([
            w.HBox([self.tag, self.status, self.prev, self.page_label, self.next]),
            header, self.empty, *[r.box for r in self.rows],
        ])  # fmt: skip
        self.throttle = Throttle(self.refresh, max_rate)
        self._unsubscribe = [scheduler.on(name, self._on_change) for name in
                             ("task_create", "task_update", "task_delete", "task_pause",
                              "task_resume", "task_start")]  # fmt: skip
        self._unsubscribe += [scheduler.on("task_complete", self._on_finish),
                              scheduler.on("task_error", self._on_finish)]  # fmt: skip
        self.refresh()

    # -- data -------------------------------------------------------------------------------

    def filtered(self) -> list[Task]:
        """The tasks the filters let through, sorted by plugin and name."""
        tag = None if self.tag.value == ALL else self.tag.value
        status = None if self.status.value == ALL else self.status.value
        tasks = self.scheduler.list_tasks(status=status, tags=[tag] if tag else None)
        return sorted(tasks, key=lambda t: (t.plugin_id, t.name))

    def _stats(self, task: Task) -> _TaskStats:
        stats = self.stats.get(task.id)
        if stats is None:
            stats = self.stats[task.id] = _TaskStats()
            for ex in reversed(self.scheduler.get_executions(task.id, limit=20)):
                if ex.finished:
                    stats.add(ex)
        return stats

    # -- events -----------------------------------------------------------------------------

    def _on_change(self, task: Task, *_: Any) -> None:
        self.throttle.request()

    def _on_finish(self, task: Task, ex: Execution, *_: Any) -> None:
        if task.id in self.stats:
            self.stats[task.id].add(ex)
        self.throttle.request()

    def _filters_changed(self) -> None:
        self.page = 0
        self.throttle.flush()

    def turn(self, step: int) -> None:
        """Go ``step`` pages forward (negative: back)."""
        self.page += step
        self.throttle.flush()

    # -- buttons ----------------------------------------------------------------------------

    def _run(self, task_id: str | None) -> None:
        if task_id is not None:
            self.scheduler.run_task_now(task_id)

    def _toggle(self, task_id: str | None) -> None:
        if task_id is None:
            return
        task = self.scheduler.get_task(task_id)
        if task.status is TaskStatus.PAUSED:
            self.scheduler.resume_task(task_id)
        else:
            self.scheduler.pause_task(task_id)

    def _delete(self, task_id: str | None, row: _Row) -> None:
        if task_id is None:
            return
        if time.monotonic() < row.confirm_until:  # the second click within 5 s deletes
            row.confirm_until = 0.0
            self.scheduler.delete_task(task_id)
        else:
            row.confirm_until = time.monotonic() + CONFIRM_SECONDS
        self.throttle.flush()

    # -- rendering --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw the current page (the throttle calls this)."""
        tags = sorted({tag for t in self.scheduler.list_tasks() for tag in t.tags})
        if list(self.tag.options) != [ALL, *tags]:
            keep = self.tag.value if self.tag.value in tags else ALL
            self.tag.options = [ALL, *tags]
            self.tag.value = keep
        tasks = self.filtered()
        pages = max(1, -(-len(tasks) // self.page_size))
        self.page = min(max(0, self.page), pages - 1)
        shown = tasks[self.page * self.page_size : (self.page + 1) * self.page_size]
        now = time.time()
        for i, row in enumerate(self.rows):
            with row.box.hold_sync():
                task = shown[i] if i < len(shown) else None
                row.show(task, self._stats(task) if task else None, now)
        self.page_label.value = f"page {self.page + 1}/{pages} · {len(tasks)} task(s)"
        self.prev.disabled = self.page == 0
        self.next.disabled = self.page >= pages - 1
        self.empty.layout.display = "none" if tasks else "block"

    def close(self) -> None:
        """Stop listening to the scheduler."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
