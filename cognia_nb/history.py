"""Execution history as pandas DataFrames, summaries and a timeline plot.

pandas, numpy and matplotlib are imported here, lazily, never by ``import cognia_nb``.
Frames are built from column arrays (see ``Store.history_columns``), not row by row.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._models import ExecutionStatus
from .stores._history import KIND_ORDER, STATUS_ORDER

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ._scheduler import Scheduler

__all__ = ["duration_text", "history_frame", "history_summary", "timeline"]

STATUS_COLOURS = {
    "succeeded": "#2e7d32", "failed": "#c62828", "timed_out": "#ef6c00", "cancelled": "#757575",
    "interrupted": "#6a1b9a", "running": "#1565c0", "pending": "#90caf9",
}  # fmt: skip


def duration_text(seconds: float | None) -> str:
    """A duration for people: ``"12 ms"``, ``"2.04 s"``, ``"3 min 4 s"``, ``"2 h 5 min"``."""
    if seconds is None or math.isnan(seconds):
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _statuses(status: str | Iterable[str] | None) -> list[ExecutionStatus] | None:
    if status is None:
        return None
    values = [status] if isinstance(status, str) else list(status)
    out = []
    for value in values:
        try:
            out.append(ExecutionStatus(value))
        except ValueError:
            from ._errors import TaskValidationError

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
        from .triggers import parse_instant

        return parse_instant(since, "since").timestamp()
    from .triggers import _require_aware

    return _require_aware(since, "since").timestamp()


def history_frame(
    scheduler: Scheduler,
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

    from .stores._history import COUNT_SHIFT, UNKNOWN_CODE

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
    metrics: dict[int, str] = {}
    sparse = cols["sparse"]
    if sparse:
        rowids = _parse(cols["rowid"], "int64")
        where = np.searchsorted(rowids, np.array([r[0] for r in sparse], dtype="int64"))
        for i, (_, err, out, met) in zip(where.tolist(), sparse, strict=True):
            error[i] = err
            output[i] = json.loads(out) if parse_output and out is not None else out
            if met:
                metrics[i] = met
    frame = pd.DataFrame(
        {
            "task_id": task_ids,
            "task_name": relabel(0),
            "plugin_id": relabel(1),
            "trigger_kind": category(codes & 7, KIND_ORDER),
            "status": category((codes >> 3) & 7, STATUS_ORDER),
            "attempts": codes >> 7,
            "missed": counts // COUNT_SHIFT,
            "skipped": counts % COUNT_SHIFT,
            "scheduled_at": scheduled,
            "started_at": started,
            "finished_at": finished,
            "lateness": started - scheduled,
            "duration": finished - started,
            "progress": progress,
            "error": error,
            "output": output,
        },
        index=pd.Index(ids, name="execution_id", dtype="object"),
        copy=False,
    )
    return _with_metrics(frame, metrics)


def _parse(text: str | None, dtype: str) -> Any:
    """A comma-separated column as a numpy array, parsed in C (no Python object per value)."""
    import numpy as np

    if not text:
        return np.empty(0, dtype=dtype)
    with warnings.catch_warnings():  # text-mode fromstring is the fast, supported path
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.fromstring(text, dtype=dtype, sep=",")


def _with_metrics(frame: pd.DataFrame, metrics: dict[int, str]) -> pd.DataFrame:
    """``metrics.<key>`` columns from the rows' metrics JSON (parsed in one call)."""
    import numpy as np
    import pandas as pd

    if not metrics:
        return frame
    positions = np.fromiter(metrics, dtype="int64", count=len(metrics))
    parsed = json.loads("[" + ",".join(metrics.values()) + "]")
    keys = sorted({str(k) for d in parsed if isinstance(d, dict) for k in d})
    extra = {}
    for key in keys:
        values = [d.get(key) if isinstance(d, dict) else None for d in parsed]
        column = np.full(len(frame), None, dtype=object)
        column[positions] = values
        extra[f"metrics.{key}"] = pd.Series(column, index=frame.index).infer_objects()
    return pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)


def history_summary(scheduler: Scheduler, since: datetime | float | str | None = None) -> Any:
    """Per task: runs, success rate, p50/p95 duration, mean lateness, last status, next run."""
    import pandas as pd

    frame = history_frame(scheduler, since=since)
    rows = []
    for task in scheduler.list_tasks():
        mine = frame[frame["task_id"] == task.id]
        finished = mine[mine["status"].isin(["succeeded", "failed", "timed_out"])]
        durations = mine["duration"].dropna()
        rows.append({
            "task_id": task.id,
            "task_name": task.name,
            "plugin_id": task.plugin_id,
            "schedule": task.describe(),
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
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("task_id") if rows else pd.DataFrame()


def timeline(
    scheduler: Scheduler, since: datetime | float | str | None = None, limit: int | None = 2000
) -> Figure:
    """A Gantt-style figure: one row per task, one bar per execution, coloured by status."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        from ._errors import MissingDependencyError

        raise MissingDependencyError("matplotlib", "plot") from exc
    import pandas as pd

    frame = history_frame(scheduler, since=since, limit=limit)
    names = list(dict.fromkeys(frame["task_name"].astype(str)))
    fig = Figure(figsize=(10, max(2.0, 0.45 * len(names) + 1.2)), layout="constrained")
    ax = fig.subplots()
    now = pd.Timestamp.now(tz="UTC")
    for row, name in enumerate(names):
        mine = frame[frame["task_name"].astype(str) == name]
        starts = mine["started_at"].fillna(mine["scheduled_at"])
        ends = mine["finished_at"].fillna(now)
        widths = (ends - starts).dt.total_seconds().clip(lower=0.2) / 86_400
        colours = [STATUS_COLOURS.get(str(s), "#999999") for s in mine["status"]]
        ax.barh([row] * len(mine), widths, left=starts.dt.tz_localize(None), color=colours,
                height=0.6)  # fmt: skip
    ax.set_yticks(range(len(names)), labels=names)
    ax.invert_yaxis()
    ax.set_xlabel("time (UTC)")
    ax.set_title("cognia_nb executions")
    present = [s for s in STATUS_ORDER if s in set(frame["status"].astype(str))]
    ax.legend(handles=[Patch(color=STATUS_COLOURS[s], label=s) for s in present],
              loc="upper right", fontsize="small")  # fmt: skip
    fig.autofmt_xdate()
    return fig
