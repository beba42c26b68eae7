"""How history reads for people: the summary frame's display and the timeline picture.

Imported by :mod:`cognia_nb.history` on first use only (it imports pandas and matplotlib).

* :class:`HistorySummary` is a ``pandas.DataFrame`` (same data, same columns: durations stay
  ``Timedelta``, rates stay fractions) that *displays* rates as percentages and durations as
  seconds (text) or readable strings (HTML); a selection of it displays the same way.
* :class:`TimelineFigure` is a matplotlib ``Figure`` with ``_repr_png_``, so it shows as a
  picture in any notebook front end without ``%matplotlib``.
"""

from __future__ import annotations

import io
import math
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ._durations import duration_text

__all__ = ["DURATION_COLUMNS", "HistorySummary", "TimelineFigure"]

DURATION_COLUMNS = ("p50_duration", "p95_duration", "mean_lateness")


def _rate(value: Any) -> str:
    if not isinstance(value, int | float):
        return str(value)  # a derived frame may hold anything here
    return "-" if math.isnan(value) else f"{100 * value:.1f} %"


def _seconds(value: Any) -> float | str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    try:
        return float(pd.Timedelta(value).total_seconds())
    except (TypeError, ValueError):
        return str(value)


def _duration(value: Any, readable: bool) -> str:
    seconds = _seconds(value)
    if seconds is None:
        return "-"
    if isinstance(seconds, str):
        return seconds
    return duration_text(seconds) if readable else f"{seconds:.3f} s"


def _when(value: Any) -> str:
    try:
        return "-" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S %Z")
    except (TypeError, ValueError):
        return str(value)


class HistorySummary(pd.DataFrame):  # type: ignore[misc]  # pandas carries no types here
    """``history_summary()``: a DataFrame that shows rates in % and durations in seconds.

    Selecting rows or columns keeps the display; the data underneath are unchanged.
    """

    @property
    def _constructor(self) -> Any:
        return HistorySummary

    def _shown(self, readable: bool) -> pd.DataFrame:
        shown = pd.DataFrame(self).copy()
        if shown.index.name != "task_id":  # not rows of tasks any more (describe(), a sum)
            return shown
        if "success_rate" in shown:
            shown["success_rate"] = [_rate(v) for v in shown["success_rate"]]
        for column in DURATION_COLUMNS:
            if column in shown:
                shown[column] = [_duration(v, readable) for v in shown[column]]
        if "next_run" in shown:
            shown["next_run"] = [_when(v) for v in shown["next_run"]]
        return shown

    def __repr__(self) -> str:
        return repr(self._shown(readable=False))

    def _repr_html_(self) -> str:
        html: str = self._shown(readable=True)._repr_html_()
        return html


class TimelineFigure(Figure):
    """The timeline: a matplotlib Figure that displays itself as a PNG."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, facecolor="white")
        return buffer.getvalue()
