"""Executions and history: the read side of the :class:`~cognia_nb.Scheduler` API."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, cast

from .._errors import ExecutionNotFoundError, SchedulerStateError
from .._model.task import Execution, Task
from .context import current_task_context
from .threads import on_loop

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ..history import HistorySource
    from ..stores import Store
    from .runner import Runner

__all__ = ["ExecutionQueries"]

log = logging.getLogger("cognia_nb.scheduler")


class ExecutionQueries:
    """Execution lookups, cancellation, waiting, and history DataFrames (mixed into Scheduler)."""

    store: Store
    _runner: Runner
    _loop: asyncio.AbstractEventLoop | None
    _loop_thread: int | None

    def get_task(self, task_id: str) -> Task:  # implemented by Scheduler
        raise NotImplementedError

    def _require_loop(self) -> asyncio.AbstractEventLoop:  # implemented by Scheduler
        raise SchedulerStateError("not running")

    # -- executions -----------------------------------------------------------------------

    def get_executions(self, task_id: str, limit: int = 10) -> list[Execution]:
        """The task's executions, newest first."""
        task = self.get_task(task_id)
        return self.store.list_executions(task.id, limit=limit)

    def get_execution(self, execution_id: str) -> Execution:
        """One execution.

        Raises:
            ExecutionNotFoundError: naming the id.
        """
        run = self._runner.live.get(execution_id)
        if run is not None:
            return run
        ex = self.store.get_execution(execution_id)
        if ex is None:
            raise ExecutionNotFoundError(execution_id)
        return ex

    def get_latest_execution(self, task_id: str) -> Execution | None:
        """The task's newest execution, or None."""
        found = self.get_executions(task_id, limit=1)
        return found[0] if found else None

    @on_loop
    def cancel_execution(self, execution_id: str, reason: str = "cancelled") -> bool:
        """Cancel a pending, running or retry-waiting execution. False if already finished.

        A running execution has its signal set and shows ``cancelling``; it is recorded
        ``cancelled`` when its handler has returned (or was given up on after the grace).
        """
        run = self._runner.live.get(execution_id)
        if run is None:
            self.get_execution(execution_id)  # raises for unknown ids
            return False
        self._runner.cancel(run, reason)
        return True

    async def wait_for(self, execution_id: str, timeout: float | None = None) -> Execution:
        """Wait until an execution finishes; returns it.

        Raises:
            ExecutionNotFoundError: unknown id.
            SchedulerStateError: called by the execution's own handler (it would never end).
            TimeoutError: not finished within ``timeout`` real seconds.
        """
        run = self._runner.live.get(execution_id)
        if run is None:
            return self.get_execution(execution_id)
        context = current_task_context.get()
        if context is not None and context.execution_id == execution_id:
            raise SchedulerStateError(
                f"execution {execution_id!r} cannot wait for itself: it ends when its own "
                "handler returns"
            )
        future: asyncio.Future[Execution] = asyncio.get_running_loop().create_future()
        run.add_waiter(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"execution {execution_id!r} did not finish within {timeout} s"
            ) from None

    def wait_for_sync(self, execution_id: str, timeout: float | None = None) -> Execution:
        """Block plain synchronous code until an execution finishes (explicit opt-in).

        In a thread without a running loop this just runs the loop. Inside a running loop (a
        notebook cell), waiting would deadlock, so this *is* the explicit opt-in to
        nest-asyncio2 (the maintained nest_asyncio fork that does not lose cells on
        ipykernel 7): the running loop is patched to allow re-entry, once, on the first call.
        Prefer ``await scheduler.wait_for(...)`` wherever you can write ``await``.

        Raises:
            ExecutionNotFoundError, TimeoutError.
        """
        loop = self._require_loop()
        if threading.get_ident() != self._loop_thread:
            future = asyncio.run_coroutine_threadsafe(self.wait_for(execution_id, timeout), loop)
            return future.result()
        import nest_asyncio2

        if not getattr(loop, "_nest_patched", False):
            log.info("wait_for_sync: enabling nest-asyncio2 re-entry on the running loop")
            nest_asyncio2.apply(loop)
        return loop.run_until_complete(self.wait_for(execution_id, timeout))

    # -- history (pandas and matplotlib load on first use) ---------------------------------

    def history(
        self,
        task_id: str | None = None,
        since: datetime | float | str | None = None,
        status: str | Iterable[str] | None = None,
        limit: int | None = None,
        *,
        parse_output: bool = False,
    ) -> pd.DataFrame:
        """Executions as a pandas DataFrame, one row each (oldest first), indexed by
        ``execution_id``.

        Columns, what people read first and ids last: task_name, status, scheduled_at,
        started_at, duration, error, finished_at, lateness, trigger_kind, attempts, missed,
        skipped, abandoned (bool: the handler outlived its abort and the grace), progress,
        output (JSON text; parsed with ``parse_output=True``), one ``metrics.<key>`` column per
        metric, task_id, plugin_id. Times are UTC, durations timedeltas, names, kinds, statuses
        and ids categoricals.

        Args:
            task_id: one task (id or name); default all.
            since: only executions created at or after this (datetime, ISO string, timestamp).
            status: one status or several.
            limit: only the newest ``limit`` executions.
        """
        from ..history import history_frame

        scheduler = cast("HistorySource", self)
        return history_frame(scheduler, task_id, since, status, limit, parse_output=parse_output)

    def history_summary(self, since: datetime | float | str | None = None) -> pd.DataFrame:
        """Per task: runs, success rate, p50/p95 duration, mean lateness, last status, next run."""
        from ..history import history_summary

        result = history_summary(cast("HistorySource", self), since)
        return result  # type: ignore[no-any-return,unused-ignore]

    def timeline(
        self, since: datetime | float | str | None = None, limit: int | None = 2000
    ) -> Figure:
        """A matplotlib Gantt-style figure of the executions, coloured by status; it displays
        as a PNG in a notebook without ``%matplotlib``."""
        from ..history import timeline

        return timeline(cast("HistorySource", self), since, limit)
