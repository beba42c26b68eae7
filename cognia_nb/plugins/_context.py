"""``PluginContext``: what a plugin gets, and a scheduler facade scoped to the plugin.

Both are capabilities, not views: neither holds the scheduler or the plugin id in an attribute
a plugin could read or rebind. The facade's one slot is a closure that forwards a fixed list of
operations to a :class:`PluginScope` (which holds the scheduler and does the scoping); the
scope itself stays with the loader. Without the ``"scheduler"`` capability no facade exists.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from .._errors import CapabilityError, ExecutionNotFoundError, TaskNotFoundError
from .._model.task import Execution, Task

if TYPE_CHECKING:
    from .._engine.scheduler import Scheduler
    from ._manifest import Manifest

__all__ = ["PluginContext", "PluginScheduler", "PluginScope", "snapshot"]

_Item = TypeVar("_Item", bound="Task | Execution")

#: What a plugin may ask of its scope (everything else, ``release`` included, is refused).
_OPERATIONS = frozenset({
    "plugin_id", "register_handler", "create_task", "list_tasks", "get_task", "pause_task",
    "resume_task", "delete_task", "run_task_now", "get_executions", "get_execution",
    "get_latest_execution", "cancel_execution", "wait_for", "emit",
})  # fmt: skip


def snapshot(item: _Item) -> _Item:
    """A copy of a task or execution for a plugin: changing it (``task.plugin_id = ...``)
    changes nothing in the scheduler (the seed's API returns plain objects too)."""
    copied = copy.copy(item)
    if isinstance(copied, Task) and copied._metadata is not None:
        copied._metadata = copy.deepcopy(copied._metadata)
    return copied


class PluginScope:
    """The scheduler seen by one plugin: every call checks ownership (loader side only).

    Another plugin's task or execution id behaves exactly like an unknown one.
    """

    __slots__ = ("_s", "_unregisters", "plugin_id", "started")

    def __init__(self, scheduler: Scheduler, plugin_id: str) -> None:
        self._s = scheduler
        self.plugin_id = plugin_id
        self._unregisters: list[Callable[[], None]] = []
        #: Executions started while the plugin loads (a failed load cancels them); None after.
        self.started: list[str] | None = []

    def _note(self, execution_ids: list[str]) -> list[str]:
        if self.started is not None:
            self.started.extend(execution_ids)
        return execution_ids

    @property
    def scheduler(self) -> Scheduler:
        """The whole scheduler (for the loader; never handed to the plugin)."""
        return self._s

    def register_handler(self, name: str, fn: Callable[..., Any]) -> Callable[[], None]:
        unregister = self._s.register_handler(name, fn, plugin_id=self.plugin_id)
        self._unregisters.append(unregister)
        return unregister

    def create_task(self, spec: Mapping[str, Any] | None, kwargs: dict[str, Any]) -> Task:
        data = dict(spec or {})
        for key in ("pluginId", "plugin_id"):  # a plugin creates only its own tasks
            data.pop(key, None)
            kwargs.pop(key, None)
        return self._s.create_task(data, **kwargs, plugin_id=self.plugin_id)

    def own(self, task_id: str) -> Task:
        task = self._s._tasks.get(task_id) if isinstance(task_id, str) else None
        if task is None:
            named = [t for t in self._s._tasks.values()
                     if t.name == task_id and t.plugin_id == self.plugin_id]  # fmt: skip
            task = named[0] if len(named) == 1 else None
        if task is None or task.plugin_id != self.plugin_id:
            raise TaskNotFoundError(task_id)
        return task

    def list_tasks(self, status: str | None, tags: Iterable[str] | None) -> list[Task]:
        return self._s.list_tasks(status=status, tags=tags, plugin_id=self.plugin_id)

    def get_task(self, task_id: str) -> Task:
        return self.own(task_id)

    def pause_task(self, task_id: str) -> Task:
        return self._s.pause_task(self.own(task_id).id)

    def resume_task(self, task_id: str) -> Task:
        return self._s.resume_task(self.own(task_id).id)

    def delete_task(self, task_id: str) -> None:
        self._s.delete_task(self.own(task_id).id)

    def run_task_now(self, task_id: str) -> str:
        return self._note([self._s.run_task_now(self.own(task_id).id)])[0]

    def get_executions(self, task_id: str, limit: int) -> list[Execution]:
        return self._s.get_executions(self.own(task_id).id, limit)

    def get_execution(self, execution_id: str) -> Execution:
        execution = self._s.get_execution(execution_id)
        if execution.plugin_id != self.plugin_id:
            raise ExecutionNotFoundError(execution_id)
        return execution

    def get_latest_execution(self, task_id: str) -> Execution | None:
        return self._s.get_latest_execution(self.own(task_id).id)

    def cancel_execution(self, execution_id: str) -> bool:
        self.get_execution(execution_id)
        return self._s.cancel_execution(execution_id)

    async def wait_for(self, execution_id: str, timeout: float | None) -> Execution:
        self.get_execution(execution_id)
        return await self._s.wait_for(execution_id, timeout)

    def emit(self, event_type: str, payload: Any) -> list[str]:
        return self._note(self._s.emit(event_type, payload, source=self.plugin_id))

    def release(self) -> None:
        """Unregister every handler the plugin registered."""
        for unregister in self._unregisters:
            unregister()
        self._unregisters.clear()


def _capability(scope: PluginScope) -> Callable[..., Any]:
    """The one door from a facade to its scope: a closure over a fixed set of operations."""

    def call(operation: str, *args: Any) -> Any:
        if operation not in _OPERATIONS:
            raise AttributeError(f"a plugin's scheduler has no operation {operation!r}")
        if operation == "plugin_id":
            return scope.plugin_id
        return _snapshots(getattr(scope, operation)(*args))

    return call


def _snapshots(result: Any) -> Any:
    if isinstance(result, Task | Execution):
        return snapshot(result)
    if isinstance(result, list):
        return [snapshot(r) if isinstance(r, Task | Execution) else r for r in result]
    if inspect.isawaitable(result):
        return _awaited_snapshot(result)
    return result


async def _awaited_snapshot(awaitable: Any) -> Any:
    return _snapshots(await awaitable)


def _read_only(obj: object, name: str) -> NoReturn:
    raise AttributeError(
        f"{type(obj).__name__} is read-only: {name!r} cannot be set or deleted (a plugin's "
        "identity and scheduler are fixed when it is loaded)"
    )


class _ReadOnly:
    """Attributes cannot be set or deleted from outside (the constructor uses
    ``object.__setattr__``)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        _read_only(self, name)

    def __delattr__(self, name: str) -> None:
        _read_only(self, name)


class PluginScheduler(_ReadOnly):
    """The seed's scheduler API for one plugin (snake_case), scoped to the plugin.

    Every call sees only the plugin's own tasks and executions: another plugin's task or
    execution id behaves exactly like an unknown one. The seed's ``await`` calls are plain calls
    here (none of them waits); ``await wait_for(execution_id)`` is the one that waits. Nothing
    on it can be set, and it holds no reference to the scheduler a plugin could read.
    """

    __slots__ = ("_call",)
    _call: Callable[..., Any]

    def __init__(self, scope: PluginScope) -> None:
        object.__setattr__(self, "_call", _capability(scope))

    @property
    def plugin_id(self) -> str:
        """The id of the plugin this facade belongs to (read-only)."""
        return cast(str, self._call("plugin_id"))

    # -- handlers and tasks ---------------------------------------------------------------

    def register_handler(self, name: str, fn: Callable[..., Any]) -> Callable[[], None]:
        """Register ``fn`` as this plugin's handler ``name``; returns ``unregister()``."""
        return cast("Callable[[], None]", self._call("register_handler", name, fn))

    def create_task(self, spec: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Task:
        """Create (or update) one of this plugin's tasks; the seed's dict or keywords.

        A ``pluginId``/``plugin_id`` in it is ignored: a plugin creates only its own tasks.
        """
        return cast(Task, self._call("create_task", spec, kwargs))

    def list_tasks(
        self, options: Mapping[str, Any] | None = None, /, *, status: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> list[Task]:  # fmt: skip
        """This plugin's tasks; ``list_tasks({"status": "active", "tags": [...]})`` works too."""
        if options:
            status = options.get("status", status)
            tags = options.get("tags", tags)
        return cast("list[Task]", self._call("list_tasks", status, tags))

    def get_task(self, task_id: str) -> Task:
        """One of this plugin's tasks (by id or name)."""
        return cast(Task, self._call("get_task", task_id))

    def pause_task(self, task_id: str) -> Task:
        """Pause one of this plugin's tasks."""
        return cast(Task, self._call("pause_task", task_id))

    def resume_task(self, task_id: str) -> Task:
        """Resume one of this plugin's tasks."""
        return cast(Task, self._call("resume_task", task_id))

    def delete_task(self, task_id: str) -> None:
        """Delete one of this plugin's tasks."""
        self._call("delete_task", task_id)

    def run_task_now(self, task_id: str) -> str:
        """Run one of this plugin's tasks now; returns the execution id."""
        return cast(str, self._call("run_task_now", task_id))

    # -- executions -----------------------------------------------------------------------

    def get_executions(self, task_id: str, limit: int = 10) -> list[Execution]:
        """A task's executions, newest first."""
        return cast("list[Execution]", self._call("get_executions", task_id, limit))

    def get_execution(self, execution_id: str) -> Execution:
        """One of this plugin's executions."""
        return cast(Execution, self._call("get_execution", execution_id))

    def get_latest_execution(self, task_id: str) -> Execution | None:
        """A task's newest execution."""
        return cast("Execution | None", self._call("get_latest_execution", task_id))

    def cancel_execution(self, execution_id: str) -> bool:
        """Cancel one of this plugin's executions."""
        return cast(bool, self._call("cancel_execution", execution_id))

    async def wait_for(self, execution_id: str, timeout: float | None = None) -> Execution:
        """Wait for one of this plugin's executions to finish."""
        return cast(Execution, await self._call("wait_for", execution_id, timeout))

    def emit(self, event_type: str, payload: Any = None) -> list[str]:
        """Emit an event; its ``source`` is always this plugin's id."""
        return cast("list[str]", self._call("emit", event_type, payload))

    def __repr__(self) -> str:
        return f"<PluginScheduler {self.plugin_id}>"


class PluginContext(_ReadOnly):
    """What ``activate(context)`` / ``Plugin.on_load(context)`` receive (made by the loader).

    Attributes (all read-only):
        plugin_id: the manifest's name (or the class or module name without a manifest).
        logger: ``logging.getLogger("cognia_nb.plugins.<plugin_id>")``.
        manifest: the validated :class:`~cognia_nb.plugins.Manifest`, or None.
        scheduler: the :class:`PluginScheduler` (needs the ``"scheduler"`` capability).
    """

    __slots__ = ("_facade", "_logger", "_manifest", "_plugin_id")
    _facade: PluginScheduler | None
    _logger: logging.Logger
    _manifest: Manifest | None
    _plugin_id: str

    def __init__(self, scope: PluginScope, manifest: Manifest | None, *, allowed: bool) -> None:
        pid = scope.plugin_id
        object.__setattr__(self, "_plugin_id", pid)
        object.__setattr__(self, "_manifest", manifest)
        object.__setattr__(self, "_logger", logging.getLogger(f"cognia_nb.plugins.{pid}"))
        # Without the capability there is no facade at all: nothing to reach around the check.
        object.__setattr__(self, "_facade", PluginScheduler(scope) if allowed else None)

    @property
    def plugin_id(self) -> str:
        """The plugin's id."""
        return self._plugin_id

    @property
    def manifest(self) -> Manifest | None:
        """The validated manifest, or None."""
        return self._manifest

    @property
    def logger(self) -> logging.Logger:
        """``logging.getLogger("cognia_nb.plugins.<plugin_id>")``."""
        return self._logger

    @property
    def scheduler(self) -> PluginScheduler:
        """The scheduler API, scoped to this plugin.

        Raises:
            CapabilityError: the manifest does not list ``"scheduler"`` in ``capabilities``.
        """
        if self._facade is None:
            raise CapabilityError(
                f"plugin {self._plugin_id!r} has no 'scheduler' capability: add \"scheduler\" to "
                '"capabilities" in its plugin.json to use context.scheduler'
            )
        return self._facade

    def __repr__(self) -> str:
        return f"<PluginContext {self._plugin_id}>"
