"""``load_plugin``: from a directory, module, class, instance or ``define_plugin`` result to a
running plugin on a scheduler, and back (``LoadedPlugin.unload``)."""

from __future__ import annotations

import importlib.util
import inspect
import logging
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._activate import activate_plugin
from ._loaded import LoadedPlugin, PluginLoadError, describe_exception
from ._manifest import Manifest, load_manifest, parse_manifest, reserved_id_problem
from ._plugin import DefinedPlugin, Plugin

if TYPE_CHECKING:
    from .._engine.scheduler import Scheduler

__all__ = ["LoadedPlugin", "PluginLoadError", "load_plugin"]  # the first two: from ._loaded

log = logging.getLogger("cognia_nb.plugins")


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
