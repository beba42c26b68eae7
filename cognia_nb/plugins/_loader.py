"""``load_plugin``: from a directory, module, class, instance or ``define_plugin`` result to a
running plugin on a scheduler, and back (``LoadedPlugin.unload``)."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import logging
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .._errors import CogniaError, TaskValidationError
from .._model.task import Task
from ._context import PluginContext, PluginScope, snapshot
from ._manifest import Manifest, load_manifest, parse_manifest, reserved_id_problem
from ._plugin import HOOK_NAMES, DefinedPlugin, Plugin

if TYPE_CHECKING:
    from .._engine.scheduler import Scheduler

__all__ = ["LoadedPlugin", "PluginLoadError", "load_plugin"]

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


def _import_file(path: Path) -> ModuleType:
    name = f"cognia_nb_plugin_{re.sub(r'[^A-Za-z0-9_]', '_', str(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginLoadError(f"cannot import plugin module {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    earlier = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # even sys.exit() at import: a refused load, not an exit
        if earlier is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = earlier
        raise PluginLoadError(f"plugin module {str(path)!r} raised while importing: "
                              f"{describe_exception(exc)}") from exc  # fmt: skip
    return module


def _from_module(module: ModuleType) -> Any:
    """The plugin a module defines: ``plugin``/``default``, else its one Plugin subclass,
    else a module-level ``activate`` function."""
    for attr in ("plugin", "default"):
        value = getattr(module, attr, None)
        if isinstance(value, DefinedPlugin | Plugin) or (
            inspect.isclass(value) and issubclass(value, Plugin)
        ):
            return value
    classes = [v for v in vars(module).values()
               if inspect.isclass(v) and issubclass(v, Plugin) and v is not Plugin
               and v.__module__ == module.__name__]  # fmt: skip
    if len(classes) == 1:
        return classes[0]
    if len(classes) > 1:
        names = ", ".join(sorted(c.__name__ for c in classes))
        raise PluginLoadError(f"module {module.__name__!r} defines several Plugin classes "
                              f"({names}); set `plugin = TheOne` in it")  # fmt: skip
    activate = getattr(module, "activate", None)
    if callable(activate):
        return DefinedPlugin(activate, name=module.__name__)
    raise PluginLoadError(
        f"module {module.__name__!r} defines no plugin: add a Plugin subclass, "
        "`plugin = define_plugin(activate)`, or an activate(context) function"
    )


def _resolve_source(source: Any, manifest: Manifest | None) -> tuple[Any, Manifest | None, str]:
    """(plugin object, manifest, fallback id) for any accepted source."""
    if isinstance(source, str | Path):
        directory = Path(source)
        if not directory.is_dir():
            raise PluginLoadError(f"plugin directory {str(directory)!r} does not exist")
        if manifest is None and (directory / "plugin.json").exists():
            manifest = load_manifest(directory / "plugin.json")
        main = directory / (manifest.main if manifest and manifest.main else "plugin.py")
        if not main.is_file():
            raise PluginLoadError(f"plugin directory {str(directory)!r} has no {main.name}")
        return _from_module(_import_file(main)), manifest, directory.name
    if isinstance(source, ModuleType):
        return _from_module(source), manifest, source.__name__.rsplit(".", 1)[-1]
    if inspect.isclass(source) and issubclass(source, Plugin):
        return source, manifest, source.__name__
    if isinstance(source, Plugin | DefinedPlugin):
        return source, manifest, getattr(source, "name", type(source).__name__)
    raise PluginLoadError(
        f"cannot load a plugin from {source!r}: give a plugin directory, a module, a Plugin "
        "subclass or instance, or a define_plugin(...) result"
    )


def load_plugin(
    source: Any,
    scheduler: Scheduler | None = None,
    manifest: Mapping[str, Any] | str | Path | None = None,
    *,
    plugin_id: str | None = None,
) -> LoadedPlugin:
    """Load a plugin onto a scheduler (default: :func:`cognia_nb.get_scheduler`).

    Registers its handlers, runs ``activate``/``on_load``, creates the manifest's
    ``scheduledTasks`` and the ``@scheduled`` methods' tasks (a method a manifest task already
    uses gets no second task), and wires its hooks. If anything fails, what was registered is
    taken back.

    Raises:
        PluginLoadError, ManifestError, TaskValidationError.
    """
    from .._default import get_scheduler
    from ._activate import activate_plugin

    target = scheduler or get_scheduler()
    parsed: Manifest | None
    if manifest is None or isinstance(manifest, Manifest):
        parsed = manifest
    elif isinstance(manifest, Mapping):
        parsed = parse_manifest(dict(manifest))
    else:
        parsed = load_manifest(manifest)
    obj, parsed, fallback = _resolve_source(source, parsed)
    if inspect.isclass(obj):
        try:
            obj = obj()
        except BaseException as exc:  # the plugin's code: a refused load, whatever it raised
            raise PluginLoadError(f"plugin class {obj.__name__} cannot be created: "
                                  f"{describe_exception(exc)}") from exc  # fmt: skip
    if parsed is None and isinstance(obj, Plugin) and obj.manifest is not None:
        parsed = parse_manifest(dict(obj.manifest))
    if isinstance(obj, Plugin) and type(obj).__name__ != "Plugin":
        fallback = type(obj).__name__ if not isinstance(source, str | Path) else fallback
    pid = plugin_id or (parsed.name if parsed else fallback)
    reserved = reserved_id_problem(pid) if isinstance(pid, str) else None
    if reserved:
        raise PluginLoadError(f"plugin id {reserved}")
    return activate_plugin(target, obj, parsed, pid)
