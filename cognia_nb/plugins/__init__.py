"""The Cognia Plugin SDK scheduler API in Python.

* :class:`Plugin` + :func:`scheduled` - class-based plugins;
* :func:`define_plugin` - the seed's ``definePlugin(activate)``;
* :func:`load_plugin` - from a directory (``plugin.json`` + ``plugin.py``), module, class,
  instance or ``define_plugin`` result onto a scheduler; :class:`LoadedPlugin` ``.unload()``;
* :class:`PluginContext` / :class:`PluginScheduler` - the scheduler API scoped to a plugin;
* :func:`parse_manifest` / :func:`load_manifest` - strict manifest validation.
"""

from __future__ import annotations

from ._context import PluginContext, PluginScheduler
from ._loader import LoadedPlugin, PluginLoadError, load_plugin
from ._manifest import Manifest, load_manifest, parse_manifest
from ._plugin import DefinedPlugin, Plugin, ScheduledSpec, define_plugin, scheduled

__all__ = [
    "DefinedPlugin",
    "LoadedPlugin",
    "Manifest",
    "Plugin",
    "PluginContext",
    "PluginLoadError",
    "PluginScheduler",
    "ScheduledSpec",
    "define_plugin",
    "load_manifest",
    "load_plugin",
    "parse_manifest",
    "scheduled",
]
