"""Per-task policies around firing: the calendar check and pause after N failures in a row.

The engine calls two functions here, each from one line: :func:`excluded` before a scheduled
firing becomes an execution (``_firing.Firing.fire``) and :func:`after_outcome` once an
execution has its final status (``_engine.firing.Firing.settle``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from .._model.task import Execution, ExecutionStatus, Task, TaskStatus
from ..triggers import CronTrigger

if TYPE_CHECKING:
    import asyncio

    from ..stores import Store


__all__ = ["PolicyHost", "after_outcome", "excluded"]


class PolicyHost(Protocol):
    """What the calendar check and pause-on-failure need of the scheduler."""

    timezone: str
    _loop: asyncio.AbstractEventLoop | None
    _tasks: dict[str, Task]
    store: Store

    def pause_task(self, task_id: str, reason: str | None = None) -> Task: ...


log = logging.getLogger("cognia_nb.scheduler")

_FAILED = (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT)


def local_time(task: Task, ts: float, default_zone: str) -> datetime:
    """A due time in the task's zone (cron: its own; other triggers: ``default_zone``)."""
    trigger = task.trigger
    zone = trigger.timezone if isinstance(trigger, CronTrigger) else default_zone
    return datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(zone))


def excluded(scheduler: PolicyHost, task: Task, scheduled_ts: float) -> bool:
    """True (and counted on the task) when the task's calendar refuses this due time."""
    calendar = task.calendar
    if calendar is None:
        return False
    reason = calendar.reason(local_time(task, scheduled_ts, scheduler.timezone))
    if reason is None:
        return False
    task.excluded_count += 1
    task.last_excluded = reason
    log.info("%s: due time skipped: %s", task.name, reason)
    return True


def after_outcome(scheduler: PolicyHost, task: Task, ex: Execution) -> None:
    """Count failures in a row; pause the task (with its reason) at its limit."""
    if ex.status is ExecutionStatus.SUCCEEDED:
        if task.consecutive_failures:
            task.consecutive_failures = 0
            _save_state(scheduler, task)
        return
    if ex.status not in _FAILED:
        return  # cancelled / interrupted: not the handler's failure
    task.consecutive_failures += 1
    _save_state(scheduler, task)  # the count survives a restart (the store holds it briefly)
    limit = task.max_consecutive_failures
    if limit is None or task.consecutive_failures < limit or task.status is not TaskStatus.ACTIVE:
        return
    error = (ex.error or str(ex.status)).splitlines()[0][:200]
    reason = (
        f"paused after {task.consecutive_failures} failed executions in a row "
        f"(max_consecutive_failures={limit}); last: {ex.id} {ex.status}: {error}"
    )
    # On the next loop turn: an execution can finish inside the firing that started it, which
    # then arms the next fire time; pausing after it leaves the task disarmed.
    loop = scheduler._loop
    if loop is None:
        _pause(scheduler, task, reason)
    else:
        loop.call_soon(_pause, scheduler, task, reason)


def _save_state(scheduler: PolicyHost, task: Task) -> None:
    if not scheduler.store.live_objects and scheduler._tasks.get(task.id) is task:
        scheduler.store.save_task_state(task)


def _pause(scheduler: PolicyHost, task: Task, reason: str) -> None:
    limit = task.max_consecutive_failures
    if scheduler._tasks.get(task.id) is not task or task.status is not TaskStatus.ACTIVE:
        return  # deleted, paused or completed meanwhile
    if limit is None or task.consecutive_failures < limit:
        return  # resumed and succeeded meanwhile, or the limit was raised
    scheduler.pause_task(task.id, reason=reason)
