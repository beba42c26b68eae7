"""``PluginContext``: what a plugin gets, and a scheduler facade scoped to the plugin."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._errors import CapabilityError, ExecutionNotFoundError, TaskNotFoundError
from .._models import Execution, Task

if TYPE_CHECKING:
    from .._scheduler import Scheduler
    from ._manifest import Manifest

__all__ = ["PluginContext", "PluginScheduler"]


class PluginScheduler:
    """The seed's scheduler API for one plugin (snake_case), scoped to the plugin.

    Every call sees only the plugin's own tasks and executions: another plugin's task or
    execution id behaves exactly like an unknown one. The seed's ``await`` calls are plain calls
    here (none of them waits); ``await wait_for(execution_id)`` is the one that waits.
    """

    def __init__(self, scheduler: Scheduler, plugin_id: str) -> None:
        self._s = scheduler
        self.plugin_id = plugin_id
        self._unregisters: list[Callable[[], None]] = []

    # -- handlers and tasks ---------------------------------------------------------------

    def register_handler(self, name: str, fn: Callable[..., Any]) -> Callable[[], None]:
        """Register ``fn`` as this plugin's handler ``name``; returns ``unregister()``."""
        unregister = self._s.register_handler(name, fn, plugin_id=self.plugin_id)
        self._unregisters.append(unregister)
        return unregister

    def create_task(self, spec: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Task:
        """Create (or update) one of this plugin's tasks; the seed's dict or keywords."""
        data = dict(spec or {})
        data.pop("pluginId", None)
        data.pop("plugin_id", None)
        kwargs.pop("plugin_id", None)
        return self._s.create_task(data, **kwargs, plugin_id=self.plugin_id)

    def _own(self, task_id: str) -> Task:
        task = self._s._tasks.get(task_id)
        if task is None:
            named = [t for t in self._s._tasks.values()
                     if t.name == task_id and t.plugin_id == self.plugin_id]  # fmt: skip
            task = named[0] if len(named) == 1 else None
        if task is None or task.plugin_id != self.plugin_id:
            raise TaskNotFoundError(task_id)
        return task

    def list_tasks(
        self, options: Mapping[str, Any] | None = None, /, *, status: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> list[Task]:  # fmt: skip
        """This plugin's tasks; ``list_tasks({"status": "active", "tags": [...]})`` works too."""
        if options:
            status = options.get("status", status)
            tags = options.get("tags", tags)
        return self._s.list_tasks(status=status, tags=tags, plugin_id=self.plugin_id)

    def get_task(self, task_id: str) -> Task:
        """One of this plugin's tasks (by id or name)."""
        return self._own(task_id)

    def pause_task(self, task_id: str) -> Task:
        """Pause one of this plugin's tasks."""
        return self._s.pause_task(self._own(task_id).id)

    def resume_task(self, task_id: str) -> Task:
        """Resume one of this plugin's tasks."""
        return self._s.resume_task(self._own(task_id).id)

    def delete_task(self, task_id: str) -> None:
        """Delete one of this plugin's tasks."""
        self._s.delete_task(self._own(task_id).id)

    def run_task_now(self, task_id: str) -> str:
        """Run one of this plugin's tasks now; returns the execution id."""
        return self._s.run_task_now(self._own(task_id).id)

    # -- executions -----------------------------------------------------------------------

    def get_executions(self, task_id: str, limit: int = 10) -> list[Execution]:
        """A task's executions, newest first."""
        return self._s.get_executions(self._own(task_id).id, limit)

    def get_execution(self, execution_id: str) -> Execution:
        """One of this plugin's executions."""
        execution = self._s.get_execution(execution_id)
        if execution.plugin_id != self.plugin_id:
            raise ExecutionNotFoundError(execution_id)
        return execution

    def get_latest_execution(self, task_id: str) -> Execution | None:
        """A task's newest execution."""
        return self._s.get_latest_execution(self._own(task_id).id)

    def cancel_execution(self, execution_id: str) -> bool:
        """Cancel one of this plugin's executions."""
        self.get_execution(execution_id)
        return self._s.cancel_execution(execution_id)

    async def wait_for(self, execution_id: str, timeout: float | None = None) -> Execution:
        """Wait for one of this plugin's executions to finish."""
        self.get_execution(execution_id)
        return await self._s.wait_for(execution_id, timeout)

    def emit(self, event_type: str, payload: Any = None) -> list[str]:
        """Emit an event with this plugin as its source."""
        return self._s.emit(event_type, payload, source=self.plugin_id)

    def _release(self) -> None:
        for unregister in self._unregisters:
            unregister()
        self._unregisters.clear()


class PluginContext:
    """What ``activate(context)`` / ``Plugin.on_load(context)`` receive.

    Attributes:
        plugin_id: the manifest's name (or the class or module name without a manifest).
        logger: ``logging.getLogger("cognia_nb.plugins.<plugin_id>")``.
        manifest: the validated :class:`~cognia_nb.plugins.Manifest`, or None.
    """

    def __init__(
        self, scheduler: Scheduler, plugin_id: str, manifest: Manifest | None,
        *, allowed: bool,
    ) -> None:  # fmt: skip
        self.plugin_id = plugin_id
        self.manifest = manifest
        self.logger = logging.getLogger(f"cognia_nb.plugins.{plugin_id}")
        self._allowed = allowed
        self._scheduler = PluginScheduler(scheduler, plugin_id)

    @property
    def scheduler(self) -> PluginScheduler:
        """The scheduler API, scoped to this plugin.

        Raises:
            CapabilityError: the manifest does not list ``"scheduler"`` in ``capabilities``.
        """
        if not self._allowed:
            raise CapabilityError(
                f"plugin {self.plugin_id!r} has no 'scheduler' capability: add \"scheduler\" to "
                '"capabilities" in its plugin.json to use context.scheduler'
            )
        return self._scheduler

    def __repr__(self) -> str:
        return f"<PluginContext {self.plugin_id}>"
