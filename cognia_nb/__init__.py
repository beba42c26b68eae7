"""cognia_nb: a reliable job scheduler inside your Jupyter kernel."""

from __future__ import annotations

from . import triggers
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
)
from ._tz import default_timezone

__version__ = "0.1.0"

__all__ = [
    "CapabilityError",
    "CogniaError",
    "ExecutionNotFoundError",
    "HandlerNotFoundError",
    "ManifestError",
    "MissingDependencyError",
    "SchedulerStateError",
    "StoreError",
    "TaskAbortedError",
    "TaskNotFoundError",
    "TaskValidationError",
    "__version__",
    "default_timezone",
    "triggers",
]
