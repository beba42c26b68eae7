"""The executor interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import AbortSignal, TaskContext
    from .handlers import Handler

__all__ = ["Executor"]


class Executor(ABC):
    """Runs one attempt of a handler somewhere else.

    ``run`` is awaited on the scheduler's loop. It returns the handler's return value, raises
    what the handler raised, and stops the remote run when ``signal`` is set (cancel, timeout),
    raising ``TaskAbortedError``. Progress and log lines go to ``context`` as they happen.
    """

    name = "executor"

    def check(self, handler: Handler, args: Any) -> None:  # noqa: B027 - optional
        """Refuse, at task creation, a handler or args this executor cannot ship.

        Raises:
            TaskValidationError: naming what cannot be shipped.
        """

    @abstractmethod
    async def run(self, handler: Handler, context: TaskContext, signal: AbortSignal,
                  timeout: float | None) -> Any:  # fmt: skip
        """Run one attempt; see the class docstring."""

    async def close(self) -> None:  # noqa: B027 - optional
        """Release the executor's resources (the scheduler's ``stop`` calls this)."""
