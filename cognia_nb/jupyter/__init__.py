"""The Jupyter layer: ``%load_ext cognia_nb``, the magics, kernel wiring and widgets.

This package imports IPython (and ipywidgets for the widgets); ``import cognia_nb`` never
does. ``%load_ext cognia_nb`` starts the kernel's default scheduler on the kernel's own loop
with the default SQLite store, registers ``%%cognia_task`` and ``%cognia``, routes handler
output and wires shutdown. ``%unload_ext cognia_nb`` stops the scheduler cleanly.
"""

from __future__ import annotations

from typing import Any

from .._default import close_default_scheduler, get_scheduler
from .._engine.scheduler import Scheduler

__all__ = [
    "Board",
    "ExecutionProgress",
    "Panel",
    "load_ipython_extension",
    "panel",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext cognia_nb`` (idempotent)."""
    from ._kernel import install
    from ._magics import CogniaMagics

    scheduler = get_scheduler()
    ipython.register_magics(CogniaMagics(ipython))
    install(ipython, scheduler)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext cognia_nb``: stop the scheduler (running executions are recorded as
    cancelled, the store is flushed) and undo the kernel wiring."""
    from ._kernel import uninstall

    uninstall(ipython)
    close_default_scheduler()


def panel(scheduler: Scheduler | None = None) -> Any:
    """The task board of a scheduler (default: the kernel's), an anywidget: the task table with
    running executions inline, a detail view with logs and tracebacks, history and a timeline.
    Outside a Jupyter front end, a text table saying why."""
    from ._panel import make_panel

    return make_panel(scheduler or get_scheduler())


def __getattr__(name: str) -> Any:
    if name == "ExecutionProgress":
        from ._progress import ExecutionProgress

        return ExecutionProgress
    if name in ("Board", "Panel"):  # Panel: the name before the board was an anywidget
        from ._board import Board

        return Board
    raise AttributeError(name)
