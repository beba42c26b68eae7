"""Taking in what other processes changed on a shared store.

The store calls back (from its writer thread) when another process created, updated,
paused, resumed or deleted a task, with the tasks whose stored version moved and the ids of all
stored tasks; :func:`apply_stored` runs on the loop and
brings this scheduler's tasks in line: new tasks appear, a stored version newer than the one
this process knows replaces the task's definition and state, and a task stored before but gone
now is dropped (its executions here are cancelled).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from .._model.task import Task
from ..triggers import IntervalTrigger, parse_trigger

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..stores import Store
    from .clock import Clock
    from .handlers import Handler

__all__ = ["SyncHost", "anchor_for", "apply_stored", "watcher_for"]


class SyncHost(Protocol):
    """What applying another process's changes needs of the scheduler."""

    store: Store
    clock: Clock
    _tasks: dict[str, Task]
    _loop: asyncio.AbstractEventLoop | None

    def handler_for(self, task: Task) -> Handler | None: ...

    def _index(self, task: Task) -> None: ...

    def _arm(self, task: Task, now: float, *, restore: bool = False) -> None: ...

    def _redefine(self, task: Task, source: Task, fields: Iterable[str], now: float) -> None: ...

    def _forget(self, task: Task) -> None: ...


_DEFINITION = (
    "handler", "trigger", "description", "args", "retry", "timeout", "tags", "overlap",
    "misfire", "misfire_grace_seconds", "jitter_seconds", "executor", "updated_ts", "status",
    "next_run_ts", "last_run_ts", "skipped_count", "missed_count", "run_count", "_version",
    "max_consecutive_failures", "calendar", "excluded_count", "consecutive_failures",
    "pause_reason", "last_excluded",
)  # fmt: skip


def watcher_for(
    s: SyncHost, loop: asyncio.AbstractEventLoop
) -> Callable[[list[Task], set[str]], None]:
    """What the store calls (from its thread) with other processes' changes: hops to the loop."""

    def take(tasks: list[Task], ids: set[str]) -> None:
        if s._loop is loop:
            apply_stored(s, tasks, ids)

    def watcher(tasks: list[Task], ids: set[str]) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(take, tasks, ids)

    return watcher


def apply_stored(s: SyncHost, stored: list[Task], seen: set[str]) -> None:
    """Apply other processes' changes (loop thread): ``stored`` are the tasks whose stored
    version moved, ``seen`` the ids of every stored task."""
    now = s.clock.now()
    for theirs in stored:
        mine = s._tasks.get(theirs.id)
        if mine is None:
            s._tasks[theirs.id] = theirs
            s._index(theirs)
            theirs.handler_missing = s.handler_for(theirs) is None
            s._arm(theirs, now, restore=True)
            continue
        if theirs._version <= mine._version or s.store.task_unwritten(mine.id):
            continue  # not newer, or this process's own change is on its way (it wins)
        if theirs.calendar is not None:  # a stored calendar names its callables: mine stay
            theirs.calendar = theirs.calendar.rebind(mine.calendar)
        s._redefine(mine, theirs, _DEFINITION, now)
    for task_id, mine in list(s._tasks.items()):
        if task_id not in seen and mine._version > 0 and not s.store.task_unwritten(task_id):
            # stored once, deleted elsewhere
            s._forget(mine)


def anchor_for(
    s: SyncHost, task_id: str, existing: Task | None, trigger: IntervalTrigger, now: float
) -> datetime:
    """The anchor of an interval task given without ``startAt``: the task's own when it is
    updated with the same interval; the stored one when another process created the same
    task with the same interval (one phase for all); else ``now``, the instant of this
    create or update (the one its first fire time is counted from, not a later clock read:
    that would put the anchor after ``now`` and fire the task at once)."""
    if isinstance(existing, Task):
        mine = existing.trigger
        same = isinstance(mine, IntervalTrigger) and mine.seconds == trigger.seconds
        if same and mine.start_at is not None:  # type: ignore[attr-defined]
            return mine.start_at  # type: ignore[attr-defined,no-any-return]
        return datetime.fromtimestamp(now, UTC)
    stored: Any = s.store.stored_trigger(task_id)
    if isinstance(stored, dict) and stored.get("type") == "interval":
        try:
            theirs = parse_trigger(stored, allow_past=True)
        except ValueError:
            theirs = None
        if (isinstance(theirs, IntervalTrigger) and theirs.seconds == trigger.seconds
                and theirs.start_at is not None):  # fmt: skip
            return theirs.start_at
    return datetime.fromtimestamp(now, UTC)
