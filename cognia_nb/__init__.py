"""cognia_nb: a reliable job scheduler inside your Jupyter kernel.

The core (this package's private modules) is pure asyncio and never imports IPython,
ipywidgets or pandas; the Jupyter layer (``cognia_nb.jupyter``) and the history DataFrames load
them lazily.
"""

from __future__ import annotations

import sys

from . import plugins, stores, triggers
from ._default import TASK_DEFINED as _TASK_DEFINED
from ._default import get_scheduler, task
from ._engine.clock import Clock, RealClock
from ._engine.context import AbortSignal, Event, TaskContext
from ._engine.scheduler import Scheduler
from ._errors import (
    CapabilityError,
    CogniaError,
    ExecutionNotFoundError,
    HandlerNotFoundError,
    ManifestError,
    MissingDependencyError,
    SchedulerStateError,
    StoreError,
    TaskAbortedError,
    TaskNotFoundError,
    TaskValidationError,
    UnknownArgumentError,
)
from ._model.task import (
    Execution,
    ExecutionStatus,
    Misfire,
    Overlap,
    RetryPolicy,
    Task,
    TaskResult,
    TaskStatus,
    TriggerKind,
)
from .plugins import (
    LoadedPlugin,
    Plugin,
    PluginContext,
    define_plugin,
    load_plugin,
    scheduled,
)
from .triggers._tz import default_timezone

__version__ = "0.1.0"

__all__ = [
    "AbortSignal",
    "CapabilityError",
    "Clock",
    "CogniaError",
    "Event",
    "Execution",
    "ExecutionNotFoundError",
    "ExecutionStatus",
    "HandlerNotFoundError",
    "LoadedPlugin",
    "ManifestError",
    "Misfire",
    "MissingDependencyError",
    "Overlap",
    "Plugin",
    "PluginContext",
    "RealClock",
    "RetryPolicy",
    "Scheduler",
    "SchedulerStateError",
    "StoreError",
    "Task",
    "TaskAbortedError",
    "TaskContext",
    "TaskNotFoundError",
    "TaskResult",
    "TaskStatus",
    "TaskValidationError",
    "TriggerKind",
    "UnknownArgumentError",
    "__version__",
    "default_timezone",
    "define_plugin",
    "get_scheduler",
    "load_plugin",
    "panel",
    "plugins",
    "scheduled",
    "stores",
    "task",
    "triggers",
]


def panel(scheduler: Scheduler | None = None) -> object:
    """The ipywidgets panel of a scheduler (default: the kernel's); loads the Jupyter layer."""
    from .jupyter import panel as make

    return make(scheduler)


def _show_card(scheduler: Scheduler, created: Task) -> None:
    """In an IPython shell, display a task ``@task`` defined as a live card (IPython is never
    imported here: the card's module is loaded only when IPython already is)."""
    if "IPython" not in sys.modules:
        return
    from .jupyter._card import show_card

    show_card(scheduler, created)


_TASK_DEFINED.append(_show_card)


def load_ipython_extension(ipython: object) -> None:  # pragma: no cover - the Jupyter layer
    """``%load_ext cognia_nb``: imports the Jupyter layer lazily."""
    from .jupyter import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:  # pragma: no cover - the Jupyter layer
    """``%unload_ext cognia_nb``."""
    from .jupyter import unload_ipython_extension as unload

    unload(ipython)
