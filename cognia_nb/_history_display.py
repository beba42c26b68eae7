"""How history reads for people: the summary frame's display and the timeline picture.

Imported by :mod:`cognia_nb.history` on first use only (it imports pandas and matplotlib).

* :class:`HistorySummary` is a ``pandas.DataFrame`` (same data, same columns: durations stay
  ``Timedelta``, rates stay fractions) that *displays* rates as percentages and durations as
  seconds (text) or readable strings (HTML). Anything derived from it is a plain DataFrame.
* :class:`TimelineFigure` is a matplotlib ``Figure`` with ``_repr_png_``, so it shows as a
  picture in any notebook front end without ``%matplotlib``.
"""

from __future__ import annotations

import io
import math
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from .history import duration_text

__all__ = ["DURATION_COLUMNS", "HistorySummary", "TimelineFigure"]

DURATION_COLUMNS = ("p50_duration", "p95_duration", "mean_lateness")


def _rate(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else (
        f"{100 * value:.1f} %")  # fmt: skip


def _seconds(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(pd.Timedelta(value).total_seconds())


class HistorySummary(pd.DataFrame):  # type: ignore[misc]  # pandas carries no types here
    """``history_summary()``: a DataFrame that shows rates in % and durations in seconds."""

    @property
    def _constructor(self) -> Any:
        return pd.DataFrame  # a slice or a computed frame is plain data again

    def _shown(self, readable: bool) -> pd.DataFrame:
        shown = pd.DataFrame(self).copy()
        if "success_rate" in shown:
            shown["success_rate"] = [_rate(v) for v in shown["success_rate"]]
        for column in DURATION_COLUMNS:
            if column not in shown:
                continue
            seconds = [_seconds(v) for v in shown[column]]
            shown[column] = [
                "-" if s is None else duration_text(s) if readable else f"{s:.3f} s"
                for s in seconds
            ]
        if "next_run" in shown:
            shown["next_run"] = [
                "-" if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d %H:%M:%S %Z")
                for v in shown["next_run"]
            ]
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
