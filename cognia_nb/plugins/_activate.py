"""Bringing a plugin to life on a scheduler, all or nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._errors import CogniaError, TaskValidationError
from ._context import PluginContext, PluginScope
from ._loaded import (
    LoadedPlugin,
    PluginLoadError,
    _camel,
    _hooks_from,
    _snake,
    describe_exception,
)
from ._manifest import Manifest
from ._plugin import HOOK_NAMES, DefinedPlugin, Plugin
from ._rollback import LoadSnapshot

if TYPE_CHECKING:
    from .._engine.scheduler import Scheduler

__all__ = ["activate_plugin"]

log = logging.getLogger("cognia_nb.plugins")


def _resolve_handler(name: str, registered: set[str]) -> str:
    """A manifest handler name: exact, else its snake_case or camelCase twin."""
    if name in registered:
        return name
    for twin in (_snake(name), _camel(name)):
        if twin in registered:
            return twin
    return name


def activate_plugin(
    scheduler: Scheduler, obj: Any, manifest: Manifest | None, plugin_id: str
) -> LoadedPlugin:
    """Register, activate, create tasks, wire hooks: all of it, or nothing.

    A load that fails at any step leaves the scheduler as it was before it (the earlier version
    of the plugin, if one was loaded, keeps running unchanged; see :class:`LoadSnapshot`).

    Raises:
        CogniaError: what the plugin's code or a task of it raised, as it was.
        PluginLoadError: any other exception, ``SystemExit`` and ``KeyboardInterrupt``
            included, raised by the plugin's code (chained as the cause).
    """
    allowed = manifest is None or manifest.has_scheduler
    scope = PluginScope(scheduler, plugin_id)
    context = PluginContext(scope, manifest, allowed=allowed)
    loaded = LoadedPlugin(plugin_id, manifest, context, obj, scope)
    before = LoadSnapshot(scheduler, plugin_id)
    try:
        decorated = _activate(obj, context, loaded)
        registered = {name for (pid, name) in scheduler._handlers if pid == plugin_id}
        used: set[str] = set()
        for entry in manifest.tasks if manifest else ():
            task_dict = dict(entry)
            task_dict["handler"] = _resolve_handler(entry["handler"], registered)
            used.add(task_dict["handler"])
            _create(context, loaded, task_dict)
        for handler_name, task_dict in decorated:
            if handler_name not in used:
                _create(context, loaded, task_dict)
        loaded._wire_hooks(scheduler)
    except BaseException as exc:  # the plugin's code at the boundary: a refused load
        for unsubscribe in loaded._unsubscribe:
            unsubscribe()
        scope.release()
        before.restore(scope.started or [])
        if isinstance(exc, CogniaError):
            raise
        raise PluginLoadError(
            f"plugin {plugin_id!r} cannot load: its code raised {describe_exception(exc)}; "
            "nothing of this load was kept"
        ) from exc
    scope.started = None
    return loaded


def _activate(
    obj: Any, context: PluginContext, loaded: LoadedPlugin
) -> list[tuple[str, dict[str, Any]]]:
    """Run the plugin's own code; returns the ``@scheduled`` (handler, task dict) pairs."""
    decorated: list[tuple[str, dict[str, Any]]] = []
    if isinstance(obj, Plugin):
        obj.logger = context.logger
        obj.context = context
        methods = obj.scheduled_methods()
        if methods:
            scheduler = context.scheduler  # refuses without the capability
            for attr, method, spec in methods:
                scheduler.register_handler(attr, method)
                doc = (method.__doc__ or "").strip().split("\n")[0]
                decorated.append((attr, spec.task_dict(attr, attr, doc)))
        on_load = getattr(obj, "on_load", None)
        if callable(on_load):
            _call(on_load, context, what="on_load")
        loaded.hooks = {n: getattr(obj, n) for n in HOOK_NAMES if callable(getattr(obj, n, None))}
        return decorated
    if isinstance(obj, DefinedPlugin):
        hooks = _call(obj.activate, context, what="activate")
        loaded.hooks = _hooks_from(hooks)
        return decorated
    raise PluginLoadError(f"not a plugin: {obj!r}")


def _call(fn: Callable[..., Any], *args: Any, what: str) -> Any:
    import inspect

    result = fn(*args)
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()
        raise PluginLoadError(
            f"{what} must be a plain function: it returned an awaitable (async def {what} is not "
            "supported; create tasks and register handlers synchronously)"
        )
    return result


def _create(context: PluginContext, loaded: LoadedPlugin, task_dict: dict[str, Any]) -> None:
    try:
        context.scheduler.create_task(task_dict)
    except TaskValidationError as exc:
        if exc.field == "trigger.runAt" and "in the past" in str(exc):
            # A declared one-off whose time has gone: not an error of the plugin, a fact.
            loaded.skipped.append((task_dict["name"], str(exc)))
            log.warning("plugin %s: task %r skipped: %s", loaded.plugin_id, task_dict["name"], exc)
            return
        raise
