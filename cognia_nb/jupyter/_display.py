"""Rich reprs for notebooks: a task summary and a task table, HTML (escaped) and plain text."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .._model.task import Task

__all__ = ["EmitReport", "TaskSummary", "TaskTableView", "relative", "when"]


def relative(ts: float | None, now: float | None = None) -> str:
    """``"in 3 min"``, ``"2 h ago"``, ``"now"``."""
    if ts is None:
        return "-"
    delta = ts - (time.time() if now is None else now)
    size = abs(delta)
    if size < 1:
        return "now"
    for unit, seconds in (("d", 86_400), ("h", 3600), ("min", 60), ("s", 1)):
        if size >= seconds:
            amount = f"{size / seconds:.0f} {unit}"
            break
    return f"in {amount}" if delta > 0 else f"{amount} ago"


def when(task: Task, now: float | None = None) -> str:
    """The next run in the task's zone, with how far away it is."""
    at: datetime | None = task.next_run_at
    if at is None or task.next_run_ts is None:
        return "-"
    return f"{at.strftime('%Y-%m-%d %H:%M:%S %Z')} ({relative(task.next_run_ts, now)})"


def _state(task: Task) -> str:
    return "handler missing" if task.handler_missing else str(task.status)


class TaskSummary:
    """What a ``%%cognia_task`` cell shows: name, schedule in words, next run, status."""

    def __init__(self, task: Task, note: str = "") -> None:
        self.task = task
        self.note = note

    def _rows(self) -> list[tuple[str, str]]:
        t = self.task
        rows = [("task", t.name), ("schedule", t.describe()), ("next run", when(t)),
                ("status", _state(t)), ("id", t.id)]  # fmt: skip
        if self.note:
            rows.append(("", self.note))
        return rows

    def __repr__(self) -> str:
        return "\n".join(f"{k:>9}: {v}" if k else f"           {v}" for k, v in self._rows())

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:right;padding-right:1em'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self._rows()
        )
        return f"<table class='cognia-task-summary'>{cells}</table>"


class TaskTableView:
    """``%cognia list``: the tasks as a table."""

    COLUMNS = ("name", "plugin", "schedule", "status", "next run", "runs", "missed", "skipped")

    def __init__(self, tasks: Sequence[Task], abandoned: int = 0) -> None:
        self.tasks = sorted(tasks, key=lambda t: (t.plugin_id, t.name))
        self.abandoned = abandoned  # ``scheduler.abandoned_threads``

    def footer(self) -> str:
        """A line about abandoned handlers still running ("" when there are none)."""
        n = self.abandoned
        if n <= 0:
            return ""
        handlers = "handler is" if n == 1 else "handlers are"
        return (f"{n} abandoned {handlers} still running (they outlived their abort and the "
                "grace; their tasks count as running until they return)")  # fmt: skip

    def rows(self) -> list[tuple[str, ...]]:
        """One tuple of strings per task."""
        now = time.time()
        return [
            (t.name, t.plugin_id, t.describe(), _state(t), when(t, now), str(t.run_count),
             str(t.missed_count), str(t.skipped_count))
            for t in self.tasks
        ]  # fmt: skip

    def __repr__(self) -> str:
        rows = [self.COLUMNS, *self.rows()]
        if len(rows) == 1:
            table = "no tasks"
        else:
            widths = [max(len(r[i]) for r in rows) for i in range(len(self.COLUMNS))]
            table = "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
                              .rstrip() for r in rows)  # fmt: skip
        footer = self.footer()
        return f"{table}\n{footer}" if footer else table

    def _repr_html_(self) -> str:
        # words read left-aligned (notebook front ends right-align table cells for numbers);
        # the plugin shows by its file name, the whole id on hover
        left = " style='text-align:left'"
        head = "".join(f"<th{left if i < 5 else ''}>{html.escape(c)}</th>"
                       for i, c in enumerate(self.COLUMNS))  # fmt: skip
        body = "".join(
            "<tr>" + "".join(self._cell(i, c, left) for i, c in enumerate(row)) + "</tr>"
            for row in self.rows()
        )
        table = (f"<table class='cognia-task-table'><tr>{head}</tr>{body}</table>" if body
                 else "<p>no tasks</p>")  # fmt: skip
        footer = self.footer()
        return f"{table}<p class='cognia-abandoned'>{html.escape(footer)}</p>" if footer else table

    @staticmethod
    def _cell(index: int, text: str, left: str) -> str:
        if index == 1 and "/" in text:  # notebook:/a/b/analysis.ipynb -> notebook:analysis.ipynb
            kind, _, path = text.partition(":")
            return (f"<td{left} title='{html.escape(text, quote=True)}'>"
                    f"{html.escape(kind)}:{html.escape(path.rsplit('/', 1)[-1])}</td>")  # fmt: skip
        return f"<td{left if index < 5 else ''}>{html.escape(text)}</td>"


class EmitReport(list[str]):
    """``%cognia emit``: the ids of the executions started (a list, as ``emit`` returns),
    shown with the names of the tasks they belong to."""

    def __init__(self, event_type: str, source: str, started: Sequence[tuple[str, str]]) -> None:
        super().__init__(execution_id for _, execution_id in started)
        self.event_type = event_type
        self.source = source
        self.started = list(started)

    def _headline(self) -> str:
        n = len(self.started)
        if not n:
            return (f"event {self.event_type!r} (source {self.source!r}): no active task "
                    "listens to it; nothing started")  # fmt: skip
        tasks = "task" if n == 1 else "tasks"
        return f"event {self.event_type!r} (source {self.source!r}) started {n} {tasks}:"

    def __repr__(self) -> str:
        width = max((len(name) for name, _ in self.started), default=0)
        lines = [f"  {name.ljust(width)}  execution {xid}" for name, xid in self.started]
        return "\n".join([self._headline(), *lines])

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td><code>{html.escape(xid)}</code></td></tr>"
            for name, xid in self.started
        )
        table = (f"<table class='cognia-emit'><tr><th>task</th><th>execution</th></tr>{rows}"
                 "</table>") if rows else ""  # fmt: skip
        return f"<div>{html.escape(self._headline())}</div>{table}"
