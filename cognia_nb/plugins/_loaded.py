"""A loaded plugin (:class:`LoadedPlugin`, ``unload()``) and the load's error and helpers.

The order of the plugin loader's modules: this one, then :mod:`._activate` (bring a plugin to
life on a scheduler, all or nothing), then :mod:`._loader` (``load_plugin``: from a directory,
module, class or instance to a running plugin).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._errors import CogniaError, TaskValidationError
from .._model.task import Task
from ._context import PluginContext, PluginScope, snapshot
from ._manifest import Manifest
from ._plugin import HOOK_NAMES

if TYPE_CHECKING:
    from .._engine.scheduler import Scheduler

__all__ = ["LoadedPlugin", "PluginLoadError", "describe_exception"]

log = logging.getLogger("cognia_nb.plugins")


class PluginLoadError(CogniaError, ImportError):
    """A plugin cannot be found, imported or activated."""


def describe_exception(exc: BaseException) -> str:
    """``SystemExit(0)``, ``KeyboardInterrupt()``, ``RuntimeError('boom')``: the class and args."""
    return f"{type(exc).__name__}({', '.join(repr(a) for a in exc.args)})"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _hooks_from(value: Any) -> dict[str, Callable[..., Any]]:
    """Hooks from a dict (snake_case or camelCase keys) or an object's attributes."""
    hooks: dict[str, Callable[..., Any]] = {}
    if value is None:
        return hooks
    for name in HOOK_NAMES:
        fn = None
        for key in (name, _camel(name)):
            fn = value.get(key) if isinstance(value, Mapping) else getattr(value, key, None)
            if fn is not None:
                break
        if fn is not None:
            if not callable(fn):
                raise TaskValidationError(f"hook {name!r} must be callable, got {fn!r}",
                                          field=name, value=fn)  # fmt: skip
            hooks[name] = fn
    if isinstance(value, Mapping):
        known = set(HOOK_NAMES) | {_camel(n) for n in HOOK_NAMES}
        unknown = [k for k in value if k not in known]
        if unknown:
            raise TaskValidationError(
                f"unknown hook(s) {unknown}; hooks are: {', '.join(HOOK_NAMES)} (or camelCase)",
                field="hooks", value=unknown,
            )  # fmt: skip
    return hooks


def _run_hook(fn: Callable[[], Any]) -> None:
    """Call a hook; an async one runs on the loop (or to completion when no loop runs)."""
    result = fn()
    if not inspect.isawaitable(result):
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_contained(result))
        return
    task = asyncio.ensure_future(_contained(result))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


_pending: set[asyncio.Future[None]] = set()


async def _contained(awaitable: Any) -> None:
    """Await an async ``on_unload``; what it raises is logged (``SystemExit`` too: asyncio
    would otherwise re-raise it out of the loop)."""
    try:
        await awaitable
    except asyncio.CancelledError:
        raise
    except BaseException:  # the plugin's code at the boundary: logged, never fatal
        log.exception("async on_unload raised; the unload went on")


class LoadedPlugin:
    """A plugin running on a scheduler.

    Attributes:
        plugin_id, manifest, context, instance (the Plugin object or DefinedPlugin),
        tasks (the plugin's tasks), skipped (expired one-off tasks not created, with why).
    """

    def __init__(self, plugin_id: str, manifest: Manifest | None, context: PluginContext,
                 instance: Any, scope: PluginScope) -> None:  # fmt: skip
        self.plugin_id = plugin_id
        self._scope = scope
        self.manifest = manifest
        self.context = context
        self.instance = instance
        self.hooks: dict[str, Callable[..., Any]] = {}
        self.skipped: list[tuple[str, str]] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self.loaded = True

    @property
    def tasks(self) -> list[Task]:
        """The plugin's tasks on the scheduler, now."""
        return self._scope.scheduler.list_tasks(plugin_id=self.plugin_id)

    def _wire_hooks(self, scheduler: Scheduler) -> None:
        pid = self.plugin_id
        mapping: dict[str, tuple[str, Callable[..., tuple[Any, ...]]]] = {
            "on_scheduled_task_start": ("task_start", lambda t, ex: (t.id, ex.id)),
            "on_scheduled_task_complete": ("task_complete", lambda t, ex, r: (t.id, ex.id, r)),
            "on_scheduled_task_error": ("task_error", lambda t, ex, err: (t.id, ex.id, err)),
            "on_scheduled_task_create": ("task_create", lambda t: (snapshot(t),)),
            "on_scheduled_task_pause": ("task_pause", lambda t: (t.id,)),
            "on_scheduled_task_resume": ("task_resume", lambda t: (t.id,)),
        }
        for name, fn in self.hooks.items():
            if name not in mapping:
                continue
            event, adapt = mapping[name]

            def listener(*args: Any, _fn: Callable[..., Any] = fn,
                         _adapt: Callable[..., tuple[Any, ...]] = adapt) -> Any:  # fmt: skip
                if args[0].plugin_id != pid:  # a plugin hears only about its own tasks
                    return None
                return _fn(*_adapt(*args))

            self._unsubscribe.append(scheduler.on(event, listener))

    def unload(self, *, delete_tasks: bool = False) -> None:
        """Call ``on_unload``, unregister the plugin's handlers and hooks.

        The plugin's tasks stay (waiting for their handlers) unless ``delete_tasks``.
        """
        if not self.loaded:
            return
        self.loaded = False
        on_unload = self.hooks.get("on_unload")
        if on_unload is not None:
            try:
                _run_hook(on_unload)
            except BaseException:  # even sys.exit(): logged, the unload goes on
                log.exception("plugin %s: on_unload raised; the unload went on", self.plugin_id)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._scope.release()
        if delete_tasks:
            scheduler = self._scope.scheduler
            for task in scheduler.list_tasks(plugin_id=self.plugin_id):
                scheduler.delete_task(task.id)

    def __repr__(self) -> str:
        state = "loaded" if self.loaded else "unloaded"
        return f"<LoadedPlugin {self.plugin_id} {state} tasks={len(self.tasks)}>"
