"""``scheduler.backfill``: a task's due times in ``[start, end)``, listed or run as one batch.

A dry run lists the due times (and what would happen to each: run, already done, excluded by
the calendar). A real run fires them in order as executions with ``trigger_kind="backfill"``
and the due time as ``context.scheduled_at``, at most ``max_parallel`` at once, under one
:class:`BackfillBatch` that can be cancelled as a whole. A due time that already has a
succeeded execution (scheduled or backfilled) is not run again unless ``rerun=True``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from .._errors import HandlerNotFoundError, SchedulerStateError, TaskValidationError
from .._model.task import Execution, ExecutionStatus, Overlap, Task, TriggerKind
from ..triggers import CronTrigger, EventTrigger
from .policies import PolicyHost, excluded, local_time

if TYPE_CHECKING:
    import pandas as pd

    from ..stores import Store
    from .firing import Firing
    from .handlers import Handler

__all__ = ["MAX_BACKFILL", "BackfillBatch", "BackfillHost", "plan_backfill", "read_bound"]


class BackfillHost(PolicyHost, Protocol):
    """What listing and running a backfill needs of the scheduler."""

    store: Store

    @property
    def _firing(self) -> Firing: ...

    def _require_loop(self) -> asyncio.AbstractEventLoop: ...

    def handler_for(self, task: Task) -> Handler | None: ...

    def cancel_execution(self, execution_id: str, reason: str = "cancelled") -> bool: ...

    async def wait_for(self, execution_id: str, timeout: float | None = None) -> Execution: ...


log = logging.getLogger("cognia_nb.scheduler")

MAX_BACKFILL = 10_000
_ids = itertools.count(1)


def read_bound(value: object, field_name: str, zone: str) -> float:
    """``start``/``end`` as a UTC timestamp: an aware datetime, or a date / naive datetime /
    ISO string read in ``zone`` (the task's local time)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise TaskValidationError(
                f"{field_name} {value!r} is not a date or time; use '2025-01-31', "
                "'2025-01-31T06:00' (the task's zone) or '2025-01-31T06:00+01:00'",
                field=field_name,
                value=value,
            ) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if not isinstance(value, datetime):
        raise TaskValidationError(
            f"{field_name} must be a datetime, a date or an ISO string, got {value!r}",
            field=field_name,
            value=value,
        )
    if value.utcoffset() is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.timestamp()


def _zone(scheduler: BackfillHost, task: Task) -> str:
    trigger = task.trigger
    return trigger.timezone if isinstance(trigger, CronTrigger) else scheduler.timezone


def plan_backfill(
    scheduler: BackfillHost, task: Task, start: object, end: object, *, rerun: bool
) -> list[dict[str, Any]]:
    """The due times of ``task`` in ``[start, end)``, each with what a run would do.

    Keys: ``scheduled`` (local, the task's zone), ``utc``, ``action`` (``"run"``,
    ``"done"`` or ``"excluded"``), ``detail`` (the succeeded execution's id, or the calendar's
    reason), ``execution_id`` (None until run) and ``status``.
    """
    if isinstance(task.trigger, EventTrigger):
        raise TaskValidationError(
            f"task {task.name!r} runs on events; it has no due times to backfill",
            field="trigger",
            value=task.trigger.to_dict(),
        )
    zone = _zone(scheduler, task)
    lo, hi = read_bound(start, "start", zone), read_bound(end, "end", zone)
    if hi <= lo:
        raise TaskValidationError(
            f"end must be after start (the range is [start, end)), got start={start!r} end={end!r}",
            field="end",
            value=end,
        )
    times: list[float] = []
    nxt = task.trigger.next_fire_timestamp(lo - 1e-6)
    while nxt is not None and nxt < hi:
        if len(times) >= MAX_BACKFILL:
            raise TaskValidationError(
                f"the range holds more than {MAX_BACKFILL} due times of {task.name!r}; "
                "backfill a narrower range at a time",
                field="end",
                value=end,
            )
        times.append(nxt)
        nxt = task.trigger.next_fire_timestamp(nxt)
    done = {} if rerun else _succeeded(scheduler, task, set(times))
    rows = []
    for ts in times:
        local = local_time(task, ts, scheduler.timezone)
        reason = task.calendar.reason(local) if task.calendar is not None else None
        action, detail = ("excluded", reason) if reason else ("run", None)
        if ts in done:
            action, detail = "done", done[ts]
        rows.append({"scheduled": local, "utc": datetime.fromtimestamp(ts, UTC),
                     "action": action, "detail": detail, "execution_id": None,
                     "status": None})  # fmt: skip
    return rows


def _succeeded(scheduler: BackfillHost, task: Task, times: set[float]) -> dict[float, str]:
    """Due time -> the id of a succeeded execution that stands for it."""
    found: dict[float, str] = {}
    for ex in scheduler.store.list_executions(task.id, statuses=[ExecutionStatus.SUCCEEDED]):
        if ex.scheduled_ts in times and ex.trigger_kind in (
            TriggerKind.SCHEDULE,
            TriggerKind.BACKFILL,
            TriggerKind.RETRY,
        ):
            found.setdefault(ex.scheduled_ts, ex.id)
    return found


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Backfill rows as a DataFrame (pandas loads here)."""
    import pandas as pd

    out = pd.DataFrame(rows, columns=["scheduled", "utc", "action", "detail", "execution_id",
                                      "status"])  # fmt: skip
    out["scheduled"] = out["scheduled"].astype(object)
    return out


@dataclass(eq=False)
class BackfillBatch:
    """A running backfill: its rows, progress, ``cancel()`` and ``await batch.wait()``."""

    scheduler: BackfillHost
    task: Task
    rows: list[dict[str, Any]]
    overlap: Overlap
    max_parallel: int
    id: str = field(default_factory=lambda: f"b_{next(_ids):05d}")
    cancelled: bool = False
    _driver: asyncio.Task[None] | None = None
    _live: dict[str, Execution] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Due times this batch runs (``action == "run"``)."""
        return sum(1 for r in self.rows if r["action"] == "run")

    @property
    def finished(self) -> int:
        """Due times of the batch whose execution has a final status."""
        return sum(1 for r in self.rows if r["status"] in _FINAL)

    @property
    def done(self) -> bool:
        """Whether the batch has run (or cancelled) everything it will."""
        return self._driver is not None and self._driver.done()

    @property
    def status(self) -> str:
        """``"running"``, ``"cancelled"`` (by :meth:`cancel`) or ``"done"``."""
        if self.cancelled:
            return "cancelled"
        return "done" if self.done else "running"

    def progress(self) -> dict[str, Any]:
        """What a progress display needs, as plain values (no pandas).

        Returns:
            ``id``, ``task_id``, ``task_name``, ``status`` (see :attr:`status`), ``total``,
            ``finished``, ``succeeded``, ``failed`` (failed or timed out), ``cancelled``
            (cancelled, skipped or never started), ``running``, and ``first`` / ``last``:
            the ISO due times of the first and last row the batch runs (None if none).
        """
        runs = [r for r in self.rows if r["action"] == "run"]
        statuses = [r["status"] for r in runs]
        return {
            "id": self.id, "task_id": self.task.id, "task_name": self.task.name,
            "status": self.status, "total": len(runs), "finished": self.finished,
            "succeeded": statuses.count("succeeded"),
            "failed": statuses.count("failed") + statuses.count("timed_out"),
            "cancelled": sum(statuses.count(k) for k in ("cancelled", "skipped", "not started",
                                                         "interrupted")),
            "running": statuses.count("running"),
            "first": runs[0]["utc"].isoformat() if runs else None,
            "last": runs[-1]["utc"].isoformat() if runs else None,
        }  # fmt: skip

    def start(self) -> BackfillBatch:
        loop = self.scheduler._require_loop()
        self._driver = loop.create_task(self._drive())
        return self

    async def wait(self) -> BackfillBatch:
        """Wait until every due time of the batch ran or the batch was cancelled."""
        if self._driver is not None:
            await asyncio.shield(self._driver)
        return self

    def cancel(self) -> int:
        """Cancel the batch: running executions are cancelled, the rest never start.

        Returns:
            How many due times did not run to the end (cancelled or never started).
        """
        self.cancelled = True
        for ex_id in list(self._live):
            self.scheduler.cancel_execution(ex_id, "backfill cancelled")
        left = 0
        for row in self.rows:
            if row["action"] == "run" and row["status"] in (None, "pending", "running"):
                row["status"] = (row["status"] and "cancelled") or "not started"
                left += 1
            elif row["status"] == "cancelled":
                left += 1
        return left

    def frame(self) -> pd.DataFrame:
        """The batch's rows (due time, action, execution id, status) as a DataFrame."""
        return frame(self.rows)

    async def _drive(self) -> None:
        s = self.scheduler
        waiting: set[asyncio.Task[Execution]] = set()
        for row in self.rows:
            if self.cancelled:
                break
            if row["action"] != "run":
                continue
            while len(waiting) >= self.max_parallel:
                _done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if self.cancelled:
                break
            ts = row["utc"].timestamp()
            if self.task.calendar is not None and excluded(s, self.task, ts):
                row["action"], row["detail"] = "excluded", self.task.last_excluded
                continue
            ex = s._firing.fire(self.task, ts, TriggerKind.BACKFILL, overlap=self.overlap)
            if ex is None:  # overlap="skip" while the task runs
                row["status"] = "skipped"
                continue
            row["execution_id"], row["status"] = ex.id, str(ex.status)
            if not ex.finished:
                self._live[ex.id] = ex
            waiting.add(asyncio.ensure_future(self._watch(row, ex)))
        if waiting:
            await asyncio.wait(waiting)

    async def _watch(self, row: dict[str, Any], ex: Execution) -> Execution:
        final = await self.scheduler.wait_for(ex.id)
        row["status"] = str(final.status)
        self._live.pop(ex.id, None)
        return final

    def __repr__(self) -> str:
        state = "cancelled" if self.cancelled else "done" if self.done else "running"
        return (f"<BackfillBatch {self.id} {self.task.name!r} {state} "
                f"{self.finished}/{self.total}>")  # fmt: skip


_FINAL = {str(s) for s in ExecutionStatus if s.finished} | {"skipped", "not started"}


def start_backfill(
    scheduler: BackfillHost,
    task: Task,
    rows: list[dict[str, Any]],
    overlap: object,
    max_parallel: object,
) -> BackfillBatch:
    """Check the options and start a batch over ``rows`` (from :func:`plan_backfill`)."""
    try:
        policy = Overlap(overlap)  # type: ignore[arg-type]
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in Overlap)
        raise TaskValidationError(
            f"overlap must be one of {allowed}, got {overlap!r}", field="overlap", value=overlap
        ) from None
    if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1:
        raise TaskValidationError(
            f"max_parallel must be an integer >= 1, got {max_parallel!r}",
            field="max_parallel",
            value=max_parallel,
        )
    if scheduler.handler_for(task) is None:
        raise HandlerNotFoundError(task.handler)
    if scheduler._loop is None:
        raise SchedulerStateError(
            "backfill(..., dry_run=False) needs a running scheduler; call scheduler.start() "
            "first (a dry run works without)"
        )
    return BackfillBatch(scheduler, task, rows, policy, max_parallel).start()
