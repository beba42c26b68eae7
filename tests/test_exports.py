"""Each public package exports exactly its documented names (README "API", DESIGN.md).

``__all__`` is the documented list (ruff keeps it sorted); every name in it resolves and
carries a docstring; and every public name a package *defines* is in its ``__all__``. Names a
package only imports for its own use (``Any``, an error class from ``cognia_nb._errors``) are
not exports.
"""

from __future__ import annotations

import importlib
import types

import pytest

DOCUMENTED = {
    "cognia_nb": [
        "AbortSignal", "CapabilityError", "Clock", "CogniaError", "Event", "Execution",
        "ExecutionNotFoundError", "ExecutionStatus", "HandlerNotFoundError", "LoadedPlugin",
        "ManifestError", "Misfire", "MissingDependencyError", "Overlap", "Plugin",
        "PluginContext", "RealClock", "RetryPolicy", "Scheduler", "SchedulerStateError",
        "StoreError", "Task", "TaskAbortedError", "TaskContext", "TaskNotFoundError",
        "TaskResult", "TaskStatus", "TaskValidationError", "TriggerKind",
        "UnknownArgumentError", "__version__", "default_timezone", "define_plugin",
        "get_scheduler", "load_plugin", "panel", "plugins", "scheduled", "stores", "task",
        "triggers",
    ],
    "cognia_nb.triggers": [
        "MAX_INTERVAL_SECONDS", "ONCE_PAST_TOLERANCE", "CronTrigger", "EventTrigger",
        "IntervalTrigger", "OnceTrigger", "Trigger", "parse_trigger",
    ],
    "cognia_nb.stores": [
        "MemoryStore", "PostgresStore", "SQLiteStore", "Store", "StoreHealth",
        "default_store_path", "open_store",
    ],
    "cognia_nb.plugins": [
        "DefinedPlugin", "LoadedPlugin", "Manifest", "Plugin", "PluginContext",
        "PluginLoadError", "PluginScheduler", "ScheduledSpec", "define_plugin", "load_manifest",
        "load_plugin", "parse_manifest", "scheduled",
    ],
    "cognia_nb.jupyter": [
        "Board", "ExecutionProgress", "Panel", "load_ipython_extension", "panel",
        "unload_ipython_extension",
    ],
    "cognia_nb.testing": ["FakeClock", "settle"],
}  # fmt: skip

#: Defined by the package but not exports: the IPython entry points live on the package root
#: because IPython looks for them there (``%load_ext cognia_nb``).
NOT_EXPORTS = {"cognia_nb": {"load_ipython_extension", "unload_ipython_extension"}}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_exports_exactly_the_documented_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported))
    assert sorted(exported) == sorted(DOCUMENTED[name])
    for export in exported:
        value = getattr(module, export)  # resolves (lazy ones included)
        if isinstance(value, type | types.FunctionType):
            assert value.__doc__, f"{name}.{export} has no docstring"


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_public_name_a_package_defines_is_exported(name: str) -> None:
    module = importlib.import_module(name)
    defined = set()
    for attr in dir(module):
        if attr.startswith("_") or attr in NOT_EXPORTS.get(name, ()):
            continue
        value = getattr(module, attr)
        if isinstance(value, types.ModuleType):
            continue
        home = getattr(value, "__module__", None)
        if isinstance(home, str) and home.startswith(name) and home.split(".")[-1] != "typing":
            defined.add(attr)
    assert defined <= set(module.__all__), sorted(defined - set(module.__all__))
