"""Run the whole suite and write the results table.

    python -m benchmarks                 # about 12 minutes; writes benchmarks/RESULTS.md
    python -m benchmarks --quick         # shorter windows and fewer repetitions
    python -m benchmarks --readme        # ... and put the table into README.md

Every workload runs cognia_nb and the peer (APScheduler 3.11, the ``bench`` extra) in the same
invocation, alternating, at least 3 times; the table shows medians with min-max and the ratio
cognia_nb / peer (below 1 is better for times). See ../shared/bench/WORKLOADS.md.

How long: 11 min 45 s on this 2-core machine (2026-12-02, shared with two other helpers), each
step's wall time printed as it ends and all of them at the end: W1 (PostgreSQL at 10k and 30k
only) 4.6 min, W4 (the peer's 100,000 add_job calls) 2.7 min, the rest under a minute each.
The same suite untrimmed took 13.5 min that day (63 min the day the machine ran about 3x
slower). PostgreSQL is measured where it says something: W1 at 10k and 30k, W7's history of 1M
rows once (the table says "1 run"); W5 makes 10 x 10,000 calls per implementation and run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

GOALS = {
    ("W1", "cpu_us_per_exec"): "≤ 10 µs (memory), ≤ 20 µs (SQLite)",
    ("W1", "executed_fraction"): "30k: 100% executed",
    ("W1", "dropped"): "0 dropped",
    ("W2", "last_ms"): "last start ≤ the asyncio limit of the same run (#15; WORKLOADS: ≤ 8 ms)",
    ("W3", "cpu_ms"): "same as the bare loop",
    ("W3", "wakeups"): "same as the bare loop",
    ("W4", "us_per_task"): "≤ 10 µs interval, ≤ 25 µs cron",
    ("W4", "bytes_per_task"): "≤ 1 KB",
    ("W5", "us_per_call"): "≤ 15 µs",
    ("W5-far", "first_call_cpu_ms"): "≤ 5 ms, any year 1-9999",
    ("W5-far", "far_jump_cpu_ms"): "≤ 1 ms",
    ("W5-far", "call_max_us"): "≤ 1 ms per call, years 1-9999",
    ("W6", "probe_p99_ms"): "p99 ≤ 10 ms",
    ("W7-persist", "persisted_per_s"): "≥ 30k/s",
    ("W7-history", "seconds"): "1M rows ≤ 2 s",
    ("W7-history", "mb"): "≤ 600 MB",
    ("W8", "p99_ms"): "p99 ≤ 1.3x idle in 3/3 runs (#15; WORKLOADS: ≤ 1.5x), better than the peer",
    ("stored executions", "bytes_per_execution"): "reported (memory heap; SQLite file)",
}


def steps(quick: bool) -> list[list[str]]:
    r = "2" if quick else "3"
    s = "3" if quick else "5"
    return [
        # 10 expressions x n calls per implementation and repetition (WORKLOADS: 100k calls)
        ["w5_cron", "--n", "5000" if quick else "10000", "--repeat", r],
        ["w5_far", "--examples", "500" if quick else "2000", "--repeat", r],
        ["w4_create", "--n", "30000" if quick else "100000", "--repeat", r],
        ["stored_executions", "--seconds", "20" if quick else "50", "--repeat", r],
        ["w3_idle", "--seconds", s, "--repeat", r],
        ["w2_once_burst", "--repeat", r],
        ["w1_dispatch", "--n", "1000", "10000", "30000", "--seconds", s, "--repeat", r,
         "--postgres-n", "10000", "30000"],
        ["w1_dispatch", "--probe", "--n", "10000", "--seconds", s, "--repeat", r,
         "--impl", "cognia_nb_memory", "apscheduler"],
        ["w7_history", "--n", "300000" if quick else "1000000", "--repeat", r,
         "--postgres-repeat", "1"],
        ["w8_kernel", "--cells", "200", "--tasks", "1000", "--repeat", r],
    ]  # fmt: skip


def _cell(stat: dict[str, float] | None) -> str:
    if not stat:
        return "-"
    return f"{stat['median']:g} ({stat['min']:g}-{stat['max']:g})"


def table(summaries: list[dict[str, Any]]) -> str:
    lines = [
        "| workload | metric | cognia_nb | peer (APScheduler 3.11; W7: pandas.read_sql) | "
        "ratio | goal |",
        "|---|---|---|---|---|---|",
    ]
    for s in summaries:
        key = (s["summary"], s["metric"])
        where = ", ".join(f"{k}={s[k]}" for k in ("n", "kind", "tasks") if k in s)
        ours = s.get("cognia_nb") or s.get("cognia_nb_memory")
        extra = ""
        if "cognia_nb_sqlite" in s:
            extra = f"; SQLite: {_cell(s['cognia_nb_sqlite'])}"
        if "cognia_nb_postgres" in s:
            runs = s.get("postgres_runs")
            label = f"PostgreSQL ({runs} run{'s' * (runs != 1)})" if runs else "PostgreSQL"
            extra += f"; {label}: {_cell(s['cognia_nb_postgres'])}"
        if "asyncio_limit" in s:
            extra += f"; asyncio limit: {_cell(s['asyncio_limit'])}"
        if "bare_loop" in s:
            extra += f"; bare loop: {_cell(s['bare_loop'])}"
        if "croniter" in s:
            extra += f"; croniter: {_cell(s['croniter'])}"
        if "idle" in s:
            extra += f"; idle kernel: {_cell(s['idle'])}"
        if "paired_ratios" in s:  # W2, W8: ours / the reference of the same repetition
            per_run = ", ".join("-" if r is None else f"{r:g}x" for r in s["paired_ratios"])
            extra += f"; same-run ratio per run: {per_run}"
        goal = GOALS.get(key, "")
        if "goal_met" in s:
            goal += f"; met: {s['goal_met']}"
        peer = s.get("apscheduler") or s.get("pandas_read_sql")
        lines.append(
            f"| {s['summary']} {where} | {s['metric']} | {_cell(ours)}{extra} | {_cell(peer)} | "
            f"{s.get('ratio', '-')} | {goal} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for package in ("cognia_nb", "apscheduler", "pandas"):
        try:
            from importlib.metadata import version

            versions.append(f"{package} {version(package)}")
        except Exception:  # noqa: BLE001 - a missing package is just not listed
            continue
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{', '.join(versions)}; {datetime.date.today().isoformat()}")  # fmt: skip


def _duration(seconds: float) -> str:
    """``83.2`` -> ``"1m23s"``: a step's wall time as printed by the suite."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--readme", action="store_true", help="update README.md's results table")
    args = ap.parse_args()
    summaries: list[dict[str, Any]] = []
    log = ROOT / "benchmarks" / "results.jsonl"
    durations: list[tuple[str, float]] = []
    suite_start = time.perf_counter()
    with log.open("w") as out:
        for step in steps(args.quick):
            print(f"== {' '.join(step)}", flush=True)
            step_start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", f"benchmarks.{step[0]}", *step[1:]],
                                    cwd=ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
            assert proc.stdout is not None
            for line in proc.stdout:
                print(line, end="", flush=True)
                out.write(line)
                if line.startswith("{"):
                    record = json.loads(line)
                    if "summary" in record:
                        summaries.append(record)
            if proc.wait() != 0:
                print(f"warning: {step[0]} failed (exit {proc.returncode})", file=sys.stderr)
            took = time.perf_counter() - step_start
            durations.append((" ".join(step), took))
            print(f"== {step[0]}: {_duration(took)}", flush=True)
    text = (
        f"Measured on {machine()}, by `python -m benchmarks`"
        f"{' --quick' if args.quick else ''}. Medians (min-max) of "
        f"{'2' if args.quick else '3'}+ alternating runs.\n\n{table(summaries)}\n"
    )
    (ROOT / "benchmarks" / "RESULTS.md").write_text("# Benchmark results\n\n" + text)
    if args.readme:
        readme = ROOT / "README.md"
        content = readme.read_text()
        new = re.sub(r"<!-- bench:start -->.*<!-- bench:end -->",
                     lambda _m: f"<!-- bench:start -->\n{text}<!-- bench:end -->", content,
                     flags=re.S)  # fmt: skip
        readme.write_text(new)
    print(text)
    print("Step durations (wall):")
    for step_text, took in durations:
        print(f"  {_duration(took):>8}  {step_text}")
    print(f"  {_duration(time.perf_counter() - suite_start):>8}  total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
