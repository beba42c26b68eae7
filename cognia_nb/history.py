"""Execution history as pandas DataFrames, summaries and a timeline plot.

pandas, numpy and matplotlib are imported here, lazily, never by ``import cognia_nb``.
Frames are built from column arrays (see ``Store.history_columns``), not row by row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._models import ExecutionStatus, TriggerKind

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ._scheduler import Scheduler

__all__ = ["history_frame", "history_summary", "timeline"]

STATUS_ORDER = [str(s) for s in ExecutionStatus]
KIND_ORDER = [str(k) for k in TriggerKind]
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
    import numpy as np
    import pandas as pd

    tid = scheduler.get_task(task_id).id if task_id is not None else None
    cols = scheduler.store.history_columns(
        tid, limit=limit, statuses=_statuses(status), since_ts=_since(since)
    )

    def when(key: str) -> pd.DatetimeIndex:
        return pd.to_datetime(np.array(cols[key], dtype="float64"), unit="s", utc=True)

    scheduled, started, finished = when("scheduled_ts"), when("started_ts"), when("finished_ts")
    frame = pd.DataFrame(
        {
            "task_id": pd.Categorical(cols["task_id"]),
            "task_name": pd.Categorical(cols["task_name"]),
            "plugin_id": pd.Categorical(cols["plugin_id"]),
            "trigger_kind": pd.Categorical(cols["trigger_kind"], categories=KIND_ORDER),
            "status": pd.Categorical(cols["status"], categories=STATUS_ORDER),
            "attempts": np.array(cols["attempt"], dtype="int64"),
            "missed": np.array(cols["missed"], dtype="int64"),
            "skipped": np.array(cols["skipped"], dtype="int64"),
            "scheduled_at": scheduled,
            "started_at": started,
            "finished_at": finished,
            "lateness": started - scheduled,
            "duration": finished - started,
            "progress": np.array(cols["progress"], dtype="float64"),
            "error": cols["error"],
            "output": (
                [None if o is None else json.loads(o) for o in cols["output"]]
                if parse_output
                else cols["output"]
            ),
        },
        index=pd.Index(cols["id"], name="execution_id", dtype="object"),
    )
    return _with_metrics(frame, cols["metrics"])


def _with_metrics(frame: pd.DataFrame, metrics: list[Any]) -> pd.DataFrame:
    import pandas as pd

    found: dict[str, dict[int, Any]] = {}
    for i, text in enumerate(metrics):
        if not text:
            continue
        values = json.loads(text) if isinstance(text, str) else text
        if isinstance(values, dict):
            for key, value in values.items():
                found.setdefault(str(key), {})[i] = value
    if not found:
        return frame
    extra = {
        f"metrics.{key}": pd.Series(values, dtype="object").reindex(range(len(frame)))
        for key, values in sorted(found.items())
    }
    extra_frame = pd.DataFrame(extra)
    extra_frame = extra_frame.infer_objects()
    extra_frame.index = frame.index
    return pd.concat([frame, extra_frame], axis=1)


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
