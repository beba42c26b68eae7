"""The exceptions cognia_nb raises.

Every error derives from :class:`CogniaError`, and each subclass also inherits the built-in
exception whose meaning it shares, so ``except ValueError`` keeps working for callers that do
not know about cognia_nb::

    CogniaError
    ├── TaskValidationError (ValueError)      bad task, trigger or manifest input
    │   ├── ManifestError                     a plugin manifest (with its JSON path)
    │   └── UnknownArgumentError (TypeError)  a keyword a call does not take (names accepted)
    ├── TaskNotFoundError (LookupError)       unknown task id or name
    ├── ExecutionNotFoundError (LookupError)  unknown execution id
    ├── HandlerNotFoundError (LookupError)    a handler name nobody registered
    ├── SchedulerStateError (RuntimeError)    scheduler not started / already stopped / no loop
    ├── CapabilityError (PermissionError)     a plugin without the "scheduler" capability
    ├── StoreError (OSError)                  the store cannot be opened, read or written
    ├── TaskAbortedError                      raised by ``signal.throw_if_aborted()``
    └── MissingDependencyError (ImportError)  an optional extra is not installed
"""

from __future__ import annotations

from typing import Any


class CogniaError(Exception):
    """Base class of every error raised by cognia_nb."""


class TaskValidationError(CogniaError, ValueError):
    """Input that cannot become a task, trigger or manifest.

    Attributes:
        field: the dotted name of the offending field (``"trigger.expression"``).
        value: the value that was refused.
    """

    def __init__(self, message: str, *, field: str, value: Any = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class ManifestError(TaskValidationError):
    """A plugin manifest that is not valid; ``field`` is its JSON path."""


class UnknownArgumentError(TaskValidationError, TypeError):
    """A keyword argument the call does not take; the message lists those it does.

    Also a ``TypeError``, what Python raises for an unexpected keyword, so ``except TypeError``
    keeps working.
    """


class TaskNotFoundError(CogniaError, LookupError):
    """No task has this id (or name)."""

    def __init__(self, task_id: str, detail: str = "") -> None:
        hint = detail or "list_tasks() shows the tasks that exist"
        super().__init__(f"no task with id {task_id!r}; {hint}")
        self.task_id = task_id


class ExecutionNotFoundError(CogniaError, LookupError):
    """No execution has this id."""

    def __init__(self, execution_id: str) -> None:
        super().__init__(
            f"no execution with id {execution_id!r}; get_executions(task_id) lists a task's runs"
        )
        self.execution_id = execution_id


class HandlerNotFoundError(CogniaError, LookupError):
    """A handler name that is not registered."""

    def __init__(self, handler: str) -> None:
        super().__init__(
            f"no handler registered under {handler!r}; call register_handler({handler!r}, fn) first"
        )
        self.handler = handler


class SchedulerStateError(CogniaError, RuntimeError):
    """The scheduler is in the wrong state for this call (not started, stopped, no loop)."""


class CapabilityError(CogniaError, PermissionError):
    """A plugin used an API its manifest does not declare in ``capabilities``."""


class StoreError(CogniaError, OSError):
    """The task store cannot be opened, read or written."""


class TaskAbortedError(CogniaError):
    """Raised by ``context.signal.throw_if_aborted()`` once an execution is cancelled or timed out.

    Attributes:
        reason: why the signal was aborted (``"cancelled"``, ``"timeout"``, ...).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"execution aborted: {reason}")
        self.reason = reason


class MissingDependencyError(CogniaError, ImportError):
    """An optional dependency is needed for this feature but not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"this feature needs {package!r}, which is not installed; "
            f"install it with: pip install 'cognia_nb[{extra}]'"
        )
        self.package = package
        self.extra = extra
