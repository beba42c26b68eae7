"""Analyst tools mixed into :class:`~cognia_nb.Scheduler`: ``explain`` and ``backfill``.

Each method is a thin front over its own module (``_explain.py``, ...); DataFrames load pandas
on first use, never at import.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from .._model.task import Task
from .backfill import BackfillBatch, frame, plan_backfill, start_backfill
from .clock import Clock
from .explain import explain_frame, explain_rows, resolve_trigger
from .policies import local_time

if TYPE_CHECKING:
    import pandas as pd

    from .backfill import BackfillHost

__all__ = ["KEEP_FINISHED_BATCHES", "AnalystTools"]

#: Ended backfill batches ``backfills(finished=True)`` still lists.
KEEP_FINISHED_BATCHES = 20


class AnalystTools:
    """``explain`` and ``backfill`` (mixed into Scheduler)."""

    clock: Clock
    timezone: str

    def get_task(self, task_id: str) -> Task:  # implemented by Scheduler
        raise NotImplementedError

    def _resolve(self, task_or_trigger: Any) -> Any:
        if isinstance(task_or_trigger, str):
            return self.get_task(task_or_trigger)
        return task_or_trigger

    def explain_rows(
        self, task_or_trigger: Any, n: int = 10, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Like :meth:`explain`, as a list of dicts (no pandas; what the board calls)."""
        target = self._resolve(task_or_trigger)
        rows = explain_rows(resolve_trigger(target, self.timezone), n, since, now=self.clock.now())
        calendar = target.calendar if isinstance(target, Task) else None
        if calendar is not None:  # the task's calendar: which of these it would skip
            for row in rows:
                local = local_time(target, row["utc"].timestamp(), self.timezone)
                row["excluded"] = calendar.reason(local)
        return rows

    def explain(
        self, task_or_trigger: Any, n: int = 10, since: datetime | None = None
    ) -> pd.DataFrame:
        """The next ``n`` fire times of a task or trigger, and what DST did to them.

        Args:
            task_or_trigger: a :class:`Task`, a task id or name, a trigger, or a trigger dict
                (``{"type": "cron", "expression": "30 2 * * *", "timezone": ...}``; no task
                needs to exist; a cron dict without a zone uses the scheduler's).
            n: how many fire times (1 to 10,000).
            since: list fire times strictly after this aware datetime (default: now).

        Returns:
            A DataFrame with columns ``local`` (the task's zone), ``utc``, ``offset``,
            ``zone_abbrev``, ``offset_change`` (an offset change since the previous row, or a
            wall time that happens twice) and ``note`` (what the rule did there, such as
            ``"02:30 does not exist on 2024-03-10; runs at 03:00 EDT"``) and ``excluded``
            (for a task with ``exclude=``/``windows=``: why its calendar skips that time).

        Raises:
            TaskValidationError: a bad trigger, ``n`` or ``since``, or an event trigger.
            TaskNotFoundError: an unknown task name or id.
        """
        return explain_frame(self.explain_rows(task_or_trigger, n, since))

    def backfill(
        self,
        task: Task | str,
        start: Any,
        end: Any,
        *,
        dry_run: bool = True,
        overlap: str = "queue",
        max_parallel: int = 1,
        rerun: bool = False,
    ) -> pd.DataFrame | BackfillBatch:
        """The task's due times in ``[start, end)``: listed (dry run) or run as one batch.

        Args:
            task: a :class:`Task`, or a task id or name.
            start, end: aware datetimes, or dates / naive datetimes / ISO strings read in the
                task's zone (``"2025-01-01"`` is that day's local midnight).
            dry_run: only list the due times (default). ``False`` runs them in order as
                executions with ``trigger_kind="backfill"`` and ``context.scheduled_at`` set to
                the due time.
            overlap: the overlap policy of the batch's executions against runs of the task
                (default ``"queue"``: wait behind them). ``max_parallel > 1`` needs
                ``"allow"``: with ``"queue"`` the batch's own runs queue behind each other.
            max_parallel: executions of the batch running at once.
            rerun: also run due times that already have a succeeded execution.

        Returns:
            Dry run: a DataFrame (``scheduled``, ``utc``, ``action`` = run / done / excluded,
            ``detail``, ``execution_id``, ``status``). Otherwise a :class:`BackfillBatch`
            (``await batch.wait()``, ``batch.cancel()``, ``batch.frame()``).

        Raises:
            TaskValidationError: a bad range or option, an event task, more than 10,000 due
                times.
            HandlerNotFoundError, SchedulerStateError: for a real run only.
        """
        sched = cast("BackfillHost", self)
        target = self.get_task(task) if isinstance(task, str) else task
        rows = plan_backfill(sched, target, start, end, rerun=rerun)
        if dry_run:
            return frame(rows)
        batch = start_backfill(sched, target, rows, overlap, max_parallel)
        batches = self.__dict__.setdefault("_backfills", [])
        ended = [b for b in batches if b.done][-KEEP_FINISHED_BATCHES:]
        batches[:] = [b for b in batches if not b.done or b in ended]
        batches.append(batch)
        return batch

    def backfills(self, finished: bool = False) -> list[BackfillBatch]:
        """Backfill batches of this scheduler, oldest first, for a progress view.

        Args:
            finished: also the batches that ended (the last ``KEEP_FINISHED_BATCHES``).

        Returns:
            The batches (by default those still running); ``batch.progress()`` gives each
            one's ``status``, ``finished``/``total`` and counts by outcome as a dict.
        """
        return [b for b in self.__dict__.get("_backfills", ()) if finished or not b.done]
