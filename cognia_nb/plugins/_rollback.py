"""A plugin load as a transaction: what the plugin had before, and going back to it.

:class:`LoadSnapshot` is taken before a load touches the scheduler: the plugin's tasks (their
configuration and firing state), its handler bindings. A failed load calls
:meth:`LoadSnapshot.restore`: tasks the load created are deleted, tasks it changed, paused,
resumed or deleted get their earlier configuration back (interval, timeout, ... and next fire
time), the earlier handler bindings are put back, and executions the load started are
cancelled. Counters and history are facts, not configuration: they are kept.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
from typing import TYPE_CHECKING

from .._errors import CogniaError
from .._model.task import Task

if TYPE_CHECKING:
    from .._engine.handlers import Handler
    from .._engine.scheduler import Scheduler

__all__ = ["LoadSnapshot"]

log = logging.getLogger("cognia_nb.plugins")

#: Task fields a load may change and a failed load puts back (identity and counters stay).
_RESTORED = tuple(
    f.name for f in dataclasses.fields(Task)
    if f.name not in {"id", "plugin_id", "name", "created_ts", "last_run_ts", "skipped_count",
                      "missed_count", "run_count", "_state_seq"}
)  # fmt: skip


class LoadSnapshot:
    """The plugin's tasks and handlers on ``scheduler`` before a load."""

    def __init__(self, scheduler: Scheduler, plugin_id: str) -> None:
        self._s = scheduler
        self.plugin_id = plugin_id
        self.tasks: dict[str, Task] = {}
        for task in scheduler.list_tasks(plugin_id=plugin_id):
            saved = copy.copy(task)
            saved.metadata = task._metadata  # the setter copies the dict
            self.tasks[task.id] = saved
        self.handlers: dict[tuple[str, str], Handler] = {
            key: h for key, h in scheduler._handlers.items() if key[0] == plugin_id
        }

    def restore(self, started: list[str]) -> None:
        """Undo what the load did (best effort per item; one failure does not stop the rest)."""
        s = self._s
        for execution_id in started:
            with contextlib.suppress(CogniaError):
                s.cancel_execution(execution_id)
        self._restore_handlers()
        for task in s.list_tasks(plugin_id=self.plugin_id):
            if task.id not in self.tasks:
                s.delete_task(task.id)
        now = s.clock.now()
        for task_id, saved in self.tasks.items():
            live = s._tasks.get(task_id)
            if live is None:  # the load deleted it: it comes back (its history never left)
                live = s._tasks[task_id] = copy.copy(saved)
            s._redefine(live, saved, _RESTORED, now)
            s.store.save_task(live)

    def _restore_handlers(self) -> None:
        s = self._s
        for key in [k for k in s._handlers if k[0] == self.plugin_id]:
            if key not in self.handlers:
                s._unregister(key, s._handlers[key])
        for key, handler in self.handlers.items():
            s._handlers[key] = handler  # the very object: the earlier unload still matches it
