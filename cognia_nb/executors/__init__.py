"""Executors: where handlers run when not in this process.

The default (no executor) runs async handlers on the scheduler's loop and sync handlers in its
thread pool. ``Scheduler(executors={"dask": DaskExecutor()})`` plus ``executor="dask"`` on a
task runs that task's handler on a Dask cluster instead; scheduling, state and history stay in
the scheduler's process.
"""

from __future__ import annotations

from typing import Any

from .._engine.executor import Executor

__all__ = ["DaskExecutor", "Executor"]


def __getattr__(name: str) -> Any:
    if name == "DaskExecutor":  # distributed is an optional extra: import it on demand
        from ._dask import DaskExecutor

        return DaskExecutor
    raise AttributeError(name)
