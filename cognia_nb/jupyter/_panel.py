"""``cognia_nb.panel()``: the task board in a Jupyter front end, a text table elsewhere.

In a kernel with a widget front end :func:`make_panel` returns the
:class:`~cognia_nb.jupyter._board.Board` (an anywidget). Without one (a terminal, plain
IPython, anywidget or ipywidgets missing) it returns a :class:`TextPanel`: the task table as
text and HTML, saying why.
"""

from __future__ import annotations

import html
from typing import Any

from .._engine.scheduler import Scheduler
from ._display import TaskTableView

__all__ = ["TextPanel", "make_panel"]


class TextPanel:
    """The panel without a widget front end: the task table as text and HTML, with why."""

    def __init__(self, scheduler: Scheduler, reason: str) -> None:
        self.table = TaskTableView(scheduler.list_tasks())
        self.reason = reason

    def __repr__(self) -> str:
        return f"({self.reason})\n{self.table!r}"

    def _repr_html_(self) -> str:
        return f"<p><i>{html.escape(self.reason)}</i></p>{self.table._repr_html_()}"


def make_panel(scheduler: Scheduler) -> Any:
    """The scheduler's task :class:`~cognia_nb.jupyter._board.Board` in a Jupyter kernel (the
    same one each time), else a :class:`TextPanel` saying why."""
    try:
        import anywidget  # noqa: F401
        import ipywidgets  # noqa: F401
    except ImportError as exc:
        return TextPanel(scheduler, f"{exc.name} is not installed: showing a text table")
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return TextPanel(scheduler, "not running in IPython: showing a text table")
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return TextPanel(scheduler, "no Jupyter front end for widgets here (a terminal or plain "
                         "IPython): showing a text table")  # fmt: skip
    from ._board import board_for

    return board_for(scheduler)
