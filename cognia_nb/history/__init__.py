"""Execution history as pandas DataFrames, summaries and a timeline plot.

pandas, numpy and matplotlib are imported here, lazily, never by ``import cognia_nb``.
Frames are built from column arrays (see ``Store.history_columns``), not row by row.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from .._model.task import ExecutionStatus
from ..stores._history import KIND_ORDER, STATUS_ORDER
from ._durations import duration_text

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from .._model.task import Task
    from ..stores import Store

__all__ = ["HistorySource", "duration_text", "history_frame", "history_summary", "timeline"]


class _Now(Protocol):
    def now(self) -> float: ...


class HistorySource(Protocol):
    """What history reads of a scheduler: its store, tasks and clock (a Scheduler is one)."""

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> _Now: ...

    def get_task(self, task_id: str) -> Task: ...

    def list_tasks(self) -> list[Task]: ...


STATUS_COLOURS = {
    "succeeded": "#2e7d32", "failed": "#c62828", "timed_out": "#ef6c00", "cancelled": "#757575",
    "interrupted": "#6a1b9a", "running": "#1565c0", "pending": "#90caf9",
}  # fmt: skip


def _statuses(status: str | Iterable[str] | None) -> list[ExecutionStatus] | None:
    if status is None:
        return None
    values = [status] if isinstance(status, str) else list(status)
    out = []
    for value in values:
        try:
            out.append(ExecutionStatus(value))
        except ValueError:
            from .._errors import TaskValidationError

            raise TaskValidationError(
                f"status must be one of {', '.join(STATUS_ORDER)}, got {value!r}",
                field="status",
                value=value,
            ) from None
    return out


def _since(since: datetime | float | str | None) -> float | None:
    if since is None:
        return None
    if isinstance(since, int | float):
        return float(since)
    if isinstance(since, str):
        from ..triggers._base import parse_instant

        return parse_instant(since, "since").timestamp()
    from ..triggers._base import _require_aware

    return _require_aware(since, "since").timestamp()


def history_frame(
    scheduler: HistorySource,
    task_id: str | None = None,
    since: datetime | float | str | None = None,
    status: str | Iterable[str] | None = None,
    limit: int | None = None,
    *,
    parse_output: bool = False,
) -> pd.DataFrame:
    """One row per execution (oldest first), indexed by ``execution_id``. See
    :meth:`Scheduler.history`."""

    tid = scheduler.get_task(task_id).id if task_id is not None else None
    cols = scheduler.store.history_columns(
        tid, limit=limit, statuses=_statuses(status), since_ts=_since(since)
    )
    return _decode(cols, parse_output=parse_output)


def _decode(cols: dict[str, Any], *, parse_output: bool) -> pd.DataFrame:
    """The DataFrame of a store's history encoding (see ``stores/_history.py``)."""
    import numpy as np
    import pandas as pd

    from ..stores._history import COUNT_SHIFT, UNKNOWN_CODE

    n = cols["rows"]
    ids = cols["id"].split("\n") if n else []
    task_ids = pd.Categorical(cols["task_id"].split("\n") if n else [])
    names = cols["names"]
    labels = [names.get(t, ("", "")) for t in task_ids.categories]

    def relabel(i: int) -> pd.Categorical:  # task_name / plugin_id share task_id's codes
        values = [label[i] for label in labels]
        unique = list(dict.fromkeys(values))
        where = {v: k for k, v in enumerate(unique)}
        lookup = np.array([where[v] for v in values] or [0], dtype="int64")
        codes = lookup[task_ids.codes] if n else np.empty(0, dtype="int64")
        codes[task_ids.codes < 0] = -1
        return pd.Categorical.from_codes(codes, categories=unique)

    codes = _parse(cols["codes"], "int64")
    counts = _parse(cols["counts"], "int64")

    def category(values: Any, order: list[str]) -> pd.Categorical:
        values = values.astype("int8")
        values[values >= min(len(order), UNKNOWN_CODE)] = -1
        return pd.Categorical.from_codes(values, categories=order)

    def when(key: str) -> pd.DatetimeIndex:
        micros = _parse(cols[key], "int64").view("datetime64[us]")  # NAT parses as NaT
        return pd.DatetimeIndex(micros).tz_localize("UTC")

    scheduled, started, finished = when("scheduled_us"), when("started_us"), when("finished_us")
    progress = _parse(cols["progress"], "int64") / 1000
    progress[progress < 0] = np.nan
    error = np.full(n, None, dtype=object)
    output = np.full(n, None, dtype=object)
    abandoned = np.zeros(n, dtype=bool)
    metrics: dict[int, str] = {}
    sparse = cols["sparse"]
    if sparse:
        rowids = _parse(cols["rowid"], "int64")
        where = np.searchsorted(rowids, np.array([r[0] for r in sparse], dtype="int64"))
        for i, (_, err, out, met, gave_up) in zip(where.tolist(), sparse, strict=True):
            error[i] = err
            abandoned[i] = bool(gave_up)
            output[i] = json.loads(out) if parse_output and out is not None else out
            if met:
                metrics[i] = met
    columns: dict[str, Any] = {  # what people read first; ids last
        "task_name": relabel(0),
        "status": category((codes >> 3) & 7, STATUS_ORDER),
        "scheduled_at": scheduled,
        "started_at": started,
        "duration": finished - started,
        "error": error,
        "finished_at": finished,
        "lateness": started - scheduled,
        "trigger_kind": category(codes & 7, KIND_ORDER),
        "attempts": codes >> 7,
        "missed": counts // COUNT_SHIFT,
        "skipped": counts % COUNT_SHIFT,
        "abandoned": abandoned,  # the handler outlived its abort and the grace (still ran)
        "progress": progress,
        "output": output,
    }
    index = pd.Index(ids, name="execution_id", dtype="object")
    columns.update(_metric_columns(n, metrics))
    columns["task_id"] = task_ids
    columns["plugin_id"] = relabel(1)
    return pd.DataFrame(columns, index=index, copy=False)


def _parse(text: str | None, dtype: str) -> Any:
    """A comma-separated column as a numpy array, parsed in C (no Python object per value)."""
    import numpy as np

    if not text:
        return np.empty(0, dtype=dtype)
    with warnings.catch_warnings():  # text-mode fromstring is the fast, supported path
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.fromstring(text, dtype=dtype, sep=",")


def _metric_columns(n: int, metrics: dict[int, str]) -> dict[str, Any]:
    """``metrics.<key>`` columns (numpy arrays of length ``n``) from the rows' metrics JSON,
    parsed in one call."""
    import numpy as np
    import pandas as pd

    if not metrics:
        return {}
    positions = np.fromiter(metrics, dtype="int64", count=len(metrics))
    parsed = json.loads("[" + ",".join(metrics.values()) + "]")
    keys = sorted({str(k) for d in parsed if isinstance(d, dict) for k in d})
    extra = {}
    for key in keys:
        values = [d.get(key) if isinstance(d, dict) else None for d in parsed]
        column = np.full(n, None, dtype=object)
        column[positions] = values
        extra[f"metrics.{key}"] = pd.Series(column).infer_objects().to_numpy()
    return extra


def history_summary(scheduler: HistorySource, since: datetime | float | str | None = None) -> Any:
    """Per task: runs, success rate, p50/p95 duration, mean lateness, last status, next run.

    A DataFrame (a :class:`~cognia_nb.history._display.HistorySummary`) indexed by task id:
    the data are fractions and ``Timedelta`` values; its display shows rates in % and
    durations in seconds (text) or readable strings (HTML).
    """
    import pandas as pd

    from ._display import HistorySummary

    frame = history_frame(scheduler, since=since)
    rows = []
    for task in scheduler.list_tasks():
        mine = frame[frame["task_id"] == task.id]
        finished = mine[mine["status"].isin(["succeeded", "failed", "timed_out"])]
        durations = mine["duration"].dropna()
        rows.append({
            "task_id": task.id,
            "task_name": task.name,
            "status": str(task.status),
            "runs": len(mine),
            "success_rate": (
                float((finished["status"] == "succeeded").mean()) if len(finished) else float("nan")
            ),
            "p50_duration": durations.quantile(0.5) if len(durations) else pd.NaT,
            "p95_duration": durations.quantile(0.95) if len(durations) else pd.NaT,
            "mean_lateness": mine["lateness"].dropna().mean() if len(mine) else pd.NaT,
            "last_status": str(mine["status"].iloc[-1]) if len(mine) else None,
            "next_run": (
                pd.Timestamp(task.next_run_at).tz_convert("UTC") if task.next_run_at else pd.NaT
            ),
            "missed": task.missed_count,
            "skipped": task.skipped_count,
            "schedule": task.describe(),
            "plugin_id": task.plugin_id,
        })  # fmt: skip
    if not rows:
        return HistorySummary()
    return HistorySummary(pd.DataFrame(rows).set_index("task_id"))


def timeline(
    scheduler: HistorySource, since: datetime | float | str | None = None, limit: int | None = 2000
) -> Figure:
    """A Gantt-style figure: one row per task, one bar per execution, coloured by status.

    A matplotlib ``Figure`` that displays as a PNG in a notebook without ``%matplotlib``; the
    legend sits outside the bars and every run is at least ``MIN_BAR`` of the time axis wide,
    so sub-second runs stay visible.
    """
    try:
        import matplotlib.dates as mdates
        from matplotlib.patches import Patch

        from ._display import TimelineFigure
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        from .._errors import MissingDependencyError

        raise MissingDependencyError("matplotlib", "plot") from exc
    import pandas as pd

    frame = history_frame(scheduler, since=since, limit=limit)
    names = list(dict.fromkeys(frame["task_name"].astype(str)))
    fig = TimelineFigure(figsize=(10, max(2.2, 0.42 * len(names) + 1.3)), layout="constrained")
    ax = fig.subplots()
    ax.set_title("cognia_nb executions", loc="left")
    if not names:
        ax.text(0.5, 0.5, "no executions yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    now = pd.Timestamp(scheduler.clock.now(), unit="s", tz="UTC")  # running runs end now
    starts = frame["started_at"].fillna(frame["scheduled_at"])
    ends = frame["finished_at"].fillna(now)
    span = max((ends.max() - starts.min()).total_seconds(), 1.0)
    min_width = max(span * MIN_BAR, 0.001)  # seconds: at least MIN_BAR of the axis
    lanes = frame["task_name"].astype(str)
    for row, name in enumerate(names):
        mine = lanes == name
        widths = (ends[mine] - starts[mine]).dt.total_seconds().clip(lower=min_width) / 86_400
        colours = [STATUS_COLOURS.get(str(s), "#999999") for s in frame["status"][mine]]
        ax.barh([row] * int(mine.sum()), widths, left=starts[mine].dt.tz_localize(None),
                color=colours, height=0.6)  # fmt: skip
    ax.margins(x=0.01)  # a run at either end is not drawn on the frame
    ax.set_yticks(range(len(names)), labels=names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    dates: Any = mdates  # its locators carry no annotations
    locator = dates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    ax.set_xlabel("time (UTC)")
    ax.grid(axis="x", alpha=0.3)
    present = [s for s in STATUS_ORDER if s in set(frame["status"].astype(str))]
    fig.legend(handles=[Patch(color=STATUS_COLOURS[s], label=s) for s in present],
               loc="outside right upper", fontsize="small", frameon=False)  # fmt: skip
    return fig


#: The narrowest bar, as a fraction of the time axis (a 10 ms run in a day stays visible).
MIN_BAR = 0.004
