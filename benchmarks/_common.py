"""Shared helpers: JSON lines, medians with min-max, ratios, the peer's availability."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["emit", "have_peer", "in_fresh_process", "paired", "rss_bytes", "summarize"]


def rss_bytes() -> int:
    """Resident memory of this process, bytes (Linux /proc; 0 elsewhere)."""
    import os

    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def in_fresh_process(*args: object) -> dict[str, Any]:
    """Run ``python <args>`` in a new process and return the JSON of its last output line
    (every measurement runs in a fresh process, so one cannot warm or pollute the next)."""
    import subprocess

    out = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                         check=True)  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def emit(record: dict[str, Any]) -> None:
    """Print one JSON line (flushed: the suite reads them as they come)."""
    print(json.dumps(record), flush=True)


def have_peer() -> bool:
    """Whether APScheduler 3.x (the ``bench`` extra) is installed."""
    try:
        import apscheduler
    except ImportError:
        print("note: APScheduler is not installed (pip install -e '.[bench]'); peer skipped",
              file=sys.stderr)  # fmt: skip
        return False
    return str(apscheduler.__version__).startswith("3.")


def _stats(values: Iterable[float]) -> dict[str, float]:
    vals = sorted(values)
    return {"median": round(statistics.median(vals), 3), "min": round(vals[0], 3),
            "max": round(vals[-1], 3)}  # fmt: skip


def summarize(
    workload: str, metric: str, runs: dict[str, list[float]], **extra: Any
) -> dict[str, Any]:
    """The final summary line: per implementation median/min/max, and cognia/peer ratio."""
    out: dict[str, Any] = {"summary": workload, "metric": metric, **extra}
    for impl, values in runs.items():
        present = [v for v in values if v is not None]
        if present:
            out[impl] = _stats(present)
    ours = out.get("cognia_nb", out.get("cognia_nb_memory"))
    peer = out.get("apscheduler", out.get("pandas_read_sql"))
    if ours and peer and peer["median"]:
        out["ratio"] = round(ours["median"] / peer["median"], 3)
    emit(out)
    return out


def paired(ours: list[float], reference: list[float], limit: float, goal: str) -> dict[str, Any]:
    """Ratios within each repetition, ``ours[i] / reference[i]`` (both measured in repetition
    ``i``, so a slow moment of the shared machine weighs on both), and how many are at most
    ``limit``: the summary fields ``paired_ratios``, ``runs_met``, ``repetitions`` and
    ``goal_met`` (``"2/3 runs ≤ 1.3x idle"``, ``goal`` being the words after the count)."""
    ratios = [round(o / r, 3) if r else None for o, r in zip(ours, reference, strict=True)]
    met = sum(1 for ratio in ratios if ratio is not None and ratio <= limit)
    return {"paired_ratios": ratios, "runs_met": met, "repetitions": len(ratios),
            "goal_met": f"{met}/{len(ratios)} runs {goal}"}  # fmt: skip


PG_DSN_ENV = "COGNIA_BENCH_PG_DSN"


def pg_server() -> Any:
    """A private PostgreSQL server for the PostgreSQL implementations (``TemporaryCluster``,
    started; its DSN also goes to the measuring processes in ``$COGNIA_BENCH_PG_DSN``), or
    None with a note when psycopg or the server binaries are missing."""
    import os

    try:
        import psycopg  # noqa: F401

        from cognia_nb.testing.postgres import ClusterUnavailable, TemporaryCluster
    except ImportError:
        print("note: psycopg is not installed (pip install -e '.[postgres]'); PostgreSQL "
              "skipped", file=sys.stderr)  # fmt: skip
        return None
    try:
        cluster = TemporaryCluster(database="bench").start()
    except ClusterUnavailable as exc:
        print(f"note: no PostgreSQL server ({exc}); PostgreSQL skipped", file=sys.stderr)
        return None
    os.environ[PG_DSN_ENV] = cluster.dsn
    return cluster
