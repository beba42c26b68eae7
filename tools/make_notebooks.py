"""Write the notebooks in notebooks/ from this file, then run them to store their outputs.

    python tools/make_notebooks.py           # writes and executes notebooks/*.ipynb

The notebooks run under nbval in the test suite (``python -m pytest``), with
``notebooks/nbval_sanitize.cfg`` masking times, ids and durations. Cells whose output is
inherently live (widgets, DataFrames of timings) carry ``# NBVAL_IGNORE_OUTPUT``, or the
``nbval-ignore-output`` tag where the first line must stay a cell magic (a task's live card);
the ``assert`` cells are what the tests check. nbval does not compare pictures, so
``tests/jupyter/test_notebook_pictures.py`` runs the notebooks again and checks that every cell
whose stored output is a picture still makes one.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(text.strip())


def live(text: str) -> nbformat.NotebookNode:
    """A cell whose output is a live task card (updated in place): nbval ignores its output."""
    cell = code(text)
    cell.metadata["tags"] = ["nbval-ignore-output"]
    return cell


QUICKSTART = [
    md("""
# cognia_nb quickstart

The kernel becomes a job scheduler: cells and functions run on a schedule in the background
while you keep working. Tasks and their history live in SQLite under your Jupyter data
directory (`COGNIA_NB_STORE` moves them; `memory` keeps nothing on disk).
"""),
    code("%load_ext cognia_nb"),
    md("""
## A cell becomes a task

`%%cognia_task NAME` plus a trigger (`--cron '0 9 * * *' --tz Europe/Berlin`, `--interval S`,
`--once-at ISO`, `--event TYPE`). The body is a function body: `return` works, `context` and
`args` are in scope. Without `await` it runs in a worker thread, so a blocking body never
freezes the kernel. Running the cell again updates the same task.

The cell shows the task's **card**, updated in place: status, schedule in words, the next run
counting down, the last result with its duration, and the output of the latest run only
(older runs are in the log), so the cell never grows. A failure shows its traceback there.
"""),
    live("""
%%cognia_task refresh --interval 1 --tags demo --description "reload the numbers"
context.report_progress(50, "halfway")
print("refreshing")
return {"success": True, "output": {"rows": 42}, "metrics": {"rows": 42}}
"""),
    md("## A function becomes a task (it shows its card too)"),
    live("""
import asyncio
import cognia_nb

@cognia_nb.task(interval=1, tags=["demo"])
async def heartbeat(context):
    await asyncio.sleep(0)
    return "ok"
"""),
    code("await asyncio.sleep(2.5)  # the kernel stays free; the tasks run meanwhile"),
    md("## The history is a DataFrame"),
    code("""
# NBVAL_IGNORE_OUTPUT
scheduler = cognia_nb.get_scheduler()
df = scheduler.history()
df[["task_name", "status", "trigger_kind", "duration", "metrics.rows"]].tail()
"""),
    code("""
mine = df[df["task_name"] == "refresh"]
assert (mine["status"] == "succeeded").sum() >= 2
assert set(mine["metrics.rows"].dropna()) == {42}
assert (df[df["task_name"] == "heartbeat"]["status"] == "succeeded").sum() >= 2
ex = scheduler.get_latest_execution("refresh")
assert [e.message for e in ex.logs if e.level == "stdout"] == ["refreshing"]
"""),
    md("## Manage tasks with `%cognia`"),
    code("""
# NBVAL_IGNORE_OUTPUT
%cognia list
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
%cognia run refresh
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
%cognia pause refresh
"""),
    code("""
assert scheduler.get_task("refresh").status == "paused"
%cognia resume refresh
assert scheduler.get_task("refresh").status == "active"
"""),
    md("""
## Events

An event task runs when something emits its event; `%cognia emit` says which tasks it started.
"""),
    live("""
%%cognia_task double --event data:ready
return context.event.payload["rows"] * 2
"""),
    code("""
%cognia emit data:ready '{"rows": 21}'
"""),
    code("""
started = _
assert len(started) == 1
done = await scheduler.wait_for(started[0], 10)
assert done.output == 42 and done.task_name == "double"
"""),
    md("""
## The panel

A task that only runs by hand here (weekdays at 9 in Berlin), to try the panel's **Run now**:
its progress bar fills, turns green, and the row shows the result.
"""),
    live("""
%%cognia_task report --cron '0 9 * * MON-FRI' --tz Europe/Berlin --description "weekday report"
import time
for step in range(1, 6):
    time.sleep(0.3)
    context.report_progress(step * 20, f"part {step}/5")
return {"pages": 5}
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
cognia_nb.panel()
"""),
    md("""
Clean up when you are done: `%cognia delete refresh`, `%cognia delete heartbeat`,
`%cognia delete report`, `%cognia delete double` (their history stays).
"""),
]

PLUGIN_SDK = [
    md("""
# The Cognia Plugin SDK in a notebook

The seed document's examples, in Python: `define_plugin`, a class-based `Plugin` with
`@scheduled`, the manifest, the scoped `context.scheduler` and the hooks.
"""),
    code("""
import cognia_nb
from cognia_nb import Plugin, define_plugin, load_plugin, scheduled

scheduler = cognia_nb.get_scheduler()
calls = []

def activate(context):
    async def daily_report(args, task_context):
        task_context.log("info", "Generating daily report...")
        task_context.report_progress(0, "Starting")
        task_context.report_progress(50, "Processing data")
        task_context.report_progress(100, "Done")
        return {"success": True, "output": {"reportId": "123"},
                "metrics": {"itemsProcessed": 100}}

    unregister = context.scheduler.register_handler("daily-report", daily_report)
    context.scheduler.create_task({
        "name": "Daily Report",
        "description": "Generate daily analytics report",
        "handler": "daily-report",
        "trigger": {"type": "cron", "expression": "0 9 * * *"},
        "retry": {"maxAttempts": 3, "delaySeconds": 60},
        "timeout": 300,
        "tags": ["reports", "daily"],
    })
    return {
        "on_unload": unregister,
        "on_scheduled_task_complete": lambda task_id, execution_id, result: calls.append(result.output),
    }

reports = load_plugin(define_plugin(activate), manifest={"name": "reports", "capabilities": ["scheduler"]})
reports
"""),
    code("""
task = reports.context.scheduler.get_task("Daily Report")
execution = await reports.context.scheduler.wait_for(reports.context.scheduler.run_task_now(task.id), 10)
assert execution.status == "succeeded" and execution.output == {"reportId": "123"}
assert execution.metrics == {"itemsProcessed": 100}
assert calls == [{"reportId": "123"}]
"""),
    md("A class-based plugin, with the seed's manifest (its `dailyReport` finds `daily_report`):"),
    code("""
class MyPlugin(Plugin):
    @scheduled(cron="0 9 * * *", description="Daily report generation")
    async def daily_report(self, context):
        self.logger.info("Generating daily report...")
        context.report_progress(50, "Processing data")
        return {"success": True, "output": {"report_id": "123"}}

    @scheduled(interval=3600, description="Hourly health check")
    async def health_check(self, context):
        return {"success": True, "output": {"db": "up"}}

manifest = {
  "name": "my-plugin", "version": "1.0.0", "capabilities": ["scheduler"],
  "scheduledTasks": [{
      "name": "Daily Report", "description": "Generate daily analytics report",
      "handler": "dailyReport", "trigger": {"type": "cron", "expression": "0 9 * * *"},
      "defaultEnabled": True, "retry": {"maxAttempts": 3, "delaySeconds": 60},
      "timeout": 300, "tags": ["reports"]}]
}
mine = load_plugin(MyPlugin, manifest=manifest)
sorted(t.name for t in mine.tasks)
"""),
    code("""
names = sorted(t.name for t in mine.tasks)
assert names == ["Daily Report", "health_check"]
assert mine.context.scheduler.get_task("Daily Report").handler == "daily_report"
# plugins are scoped: my-plugin cannot see the reports plugin's task
try:
    mine.context.scheduler.get_task(task.id)
    raise AssertionError("another plugin's task must be unknown")
except cognia_nb.TaskNotFoundError:
    pass
"""),
    code("""
reports.unload(delete_tasks=True)
mine.unload(delete_tasks=True)
assert scheduler.list_tasks(plugin_id="my-plugin") == []
"""),
]

HISTORY = [
    md("""
# Analysing the history

Every execution is a row: status, attempts, lateness, duration, progress, error, output and
one column per metric a handler reported.
"""),
    code("""
import asyncio, random, time
import cognia_nb

scheduler = cognia_nb.get_scheduler()
began = time.time()

async def load(context):
    await asyncio.sleep(random.uniform(0.01, 0.05))
    rows = random.randint(100, 200)
    return {"success": True, "output": {"rows": rows}, "metrics": {"rows": rows}}

def flaky(context):
    if context.attempt_number == 1:
        raise ConnectionError("upstream hiccup")
    return "recovered"

def broken(context):
    raise ValueError("bad input")

for name, fn in (("load", load), ("flaky", flaky), ("broken", broken)):
    scheduler.register_handler(name, fn)
scheduler.create_task(name="load", handler="load", trigger={"type": "interval", "seconds": 0.5})
scheduler.create_task(name="flaky", handler="flaky", trigger={"type": "interval", "seconds": 1},
                      retry={"maxAttempts": 2, "delaySeconds": 0.1})
scheduler.create_task(name="broken", handler="broken", trigger={"type": "interval", "seconds": 1})
await asyncio.sleep(3.2)
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
df = scheduler.history()
df.groupby("task_name", observed=True)["status"].value_counts().unstack(fill_value=0)
"""),
    code("""
assert {"load", "flaky", "broken"} <= set(df["task_name"])
assert (df[df.task_name == "broken"]["status"] == "failed").all()
assert (df[df.task_name == "flaky"]["attempts"] == 2).all()
assert df[df.task_name == "load"]["metrics.rows"].between(100, 200).all()
assert str(df["duration"].dtype).startswith("timedelta64")
"""),
    md("""
Per task: success rate (shown in %), p50/p95 durations and mean lateness (shown in seconds,
readable in HTML). The data stay numbers and `Timedelta`s for your own computations.
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
summary = scheduler.history_summary()
summary[["task_name", "runs", "success_rate", "p50_duration", "last_status"]]
"""),
    code("""
assert summary.loc[summary.task_name == "broken", "success_rate"].iloc[0] == 0.0
assert "0.0 %" in repr(summary[["task_name", "success_rate"]])
"""),
    md("""
The timeline: one lane per task, one bar per execution coloured by status (a run of a few
milliseconds is still drawn). It is a matplotlib `Figure` that shows itself as a PNG, no
`%matplotlib` needed.
"""),
    code("""
fig = scheduler.timeline(since=began)
fig
"""),
    code("""
labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
assert {"load", "flaky", "broken"} <= set(labels) and len(fig.axes[0].patches) >= 10
for name in ("load", "flaky", "broken"):
    scheduler.delete_task(name)
"""),
]

DASK = [
    md("""
# Scale out: handlers on a Dask cluster

Scheduling, state and history stay in this kernel; `executor="dask"` tasks run their handler on
a Dask cluster. `DaskExecutor()` without an address starts a local cluster (2 worker processes
on 127.0.0.1). Progress, logs, cancellation and timeouts reach the worker and come back.
"""),
    code("""
import os
import cognia_nb
from cognia_nb.executors import DaskExecutor

scheduler = cognia_nb.Scheduler(store="memory", timezone="UTC",
                                executors={"dask": DaskExecutor(n_workers=2)}).start()

def crunch(args, context):          # defined in a cell: shipped to the worker with cloudpickle
    total = 0
    for step in range(1, 5):
        total += sum(i * i for i in range(args * 10_000))
        context.report_progress(step * 25, f"chunk {step}/4")
    context.log("info", "crunched", pid=os.getpid())
    return {"total": total, "pid": os.getpid()}

scheduler.register_handler("crunch", crunch)
task = scheduler.create_task(name="crunch", handler="crunch", executor="dask", args=30,
                             trigger={"type": "interval", "seconds": 3600})
execution = await scheduler.wait_for(scheduler.run_task_now(task.id), 120)
"""),
    code("""
assert execution.status == "succeeded", execution.error
assert execution.output["pid"] != os.getpid()      # it ran in a worker process
assert execution.progress == 100 and execution.logs[-1].message == "crunched"
"""),
    md("A handler that cannot be shipped is refused when the task is created, not at 3 a.m.:"),
    code("""
import threading
lock = threading.Lock()

def guarded(context):
    with lock:
        return 1

scheduler.register_handler("guarded", guarded)
try:
    scheduler.create_task(name="guarded", handler="guarded", executor="dask",
                          trigger={"type": "interval", "seconds": 60})
    raise AssertionError("expected a refusal")
except cognia_nb.TaskValidationError as exc:
    print(exc)
"""),
    code("await scheduler.stop()"),
]


def skip_in_service(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell.metadata["tags"] = [*cell.metadata.get("tags", []), "cognia:skip"]
    return cell


SERVICE = [
    md("""
# Run a notebook's tasks as a service

The tasks below keep running when this notebook is closed: `cognia-nb run` runs the saved
notebook in a kernel of its own, on the same store, so the history is one. Cells tagged
`cognia:skip` (like the ones that look at the service) are not run by the service.

Jupyter tells the kernel which notebook it runs (`JPY_SESSION_NAME`); under nbval we say it.
"""),
    code("""
import os
os.environ.setdefault("JPY_SESSION_NAME", os.path.abspath("run_as_service.ipynb"))
%load_ext cognia_nb
"""),
    live("""
%%cognia_task nightly_export --cron '0 2 * * *' --tz UTC --description "export yesterday's rows"
print("exporting")
return {"rows": 42}
"""),
    md("""
## How to run it headless

`%cognia serve` writes a systemd user unit and prints the `systemctl --user enable --now` line
(it never starts anything). `--print` only prints the command line, for tmux, cron `@reboot` or
a container:
"""),
    skip_in_service(
        code("""
# NBVAL_IGNORE_OUTPUT
serve = %cognia serve --print
serve
""")
    ),
    skip_in_service(
        code("""
text = repr(serve)
assert "-m cognia_nb.cli run" in text and "run_as_service.ipynb" in text and "--grace 10" in text
""")
    ),
    md("""
## Who runs what

`cognia-nb status` lists the processes that have the store open (this kernel, a service, a
plugin runner), their tasks and last heartbeat; dead ones are marked `DEAD`.
"""),
    skip_in_service(
        code("""
# NBVAL_IGNORE_OUTPUT
import subprocess, sys
import cognia_nb
store = cognia_nb.get_scheduler().store.location
status = subprocess.run([sys.executable, "-m", "cognia_nb.cli", "status", "--store", store],
                        capture_output=True, text=True, check=True).stdout
print(status)
""")
    ),
    skip_in_service(
        code("""
assert "1 process(es), 1 alive" in status, status
assert "kernel" in status and "nightly_export" in status
""")
    ),
]


ANALYST = [
    md("""
# Analyst tools: explain, backfill, calendars, pause on failure, metrics

Each is one call that returns something to look at before anything runs. This notebook uses
its own in-memory scheduler, so nothing is kept.
"""),
    code("""
import asyncio
from datetime import datetime, timezone
import cognia_nb

scheduler = cognia_nb.Scheduler(store="memory", timezone="America/New_York").start()
"""),
    md("""
## explain: the next fire times, and what DST did to them

Works on a trigger dict before any task exists (or on a task, by name).
"""),
    code("""
since = datetime(2024, 3, 8, tzinfo=timezone.utc)
frame = scheduler.explain({"type": "cron", "expression": "30 2 * * *"}, n=4, since=since)
print(frame[["local", "zone_abbrev", "note"]].to_string())
"""),
    code("""
fall = scheduler.explain({"type": "cron", "expression": "30 1 * * *"}, n=2,
                         since=datetime(2024, 11, 2, 12, tzinfo=timezone.utc))
print(fall[["local", "note"]].to_string())
assert frame["note"][2] == "02:30 does not exist on 2024-03-10; runs at 03:00 EDT"
"""),
    md("""
## Calendars: skip public holidays, run only inside windows

`exclude=` takes dates, ranges, `{"holidays": "DE-BY"}` (the `holidays` extra) or a callable;
`windows=` takes `"Mon-Fri 08:00-18:00"` in the task's zone. `explain` shows what is skipped.
"""),
    code("""
report = scheduler.create_task(
    name="report", handler=lambda: None,
    trigger={"type": "cron", "expression": "0 9 * * *", "timezone": "Europe/Berlin"},
    exclude={"holidays": "DE-BY"}, windows="Mon-Fri 00:00-24:00",
)
days = scheduler.explain("report", n=8, since=datetime(2024, 12, 31, tzinfo=timezone.utc))
print(days[["local", "excluded"]].to_string())
"""),
    md("""
## backfill: the due times of a range, listed, then run

A dry run lists them; `dry_run=False` runs them in order as `backfill` executions with
`context.scheduled_at` set. Due times that already succeeded are not run again.
"""),
    code("""
async def load(context):
    return context.scheduled_at.date().isoformat()

scheduler.create_task(name="load", handler=load,
                      trigger={"type": "cron", "expression": "0 6 * * *", "timezone": "UTC"})
print(scheduler.backfill("load", "2024-01-01", "2024-01-04")[["utc", "action"]].to_string())
"""),
    code("""
batch = await scheduler.backfill("load", "2024-01-01", "2024-01-04", dry_run=False).wait()
print(batch.frame()[["utc", "status"]].to_string())
again = scheduler.backfill("load", "2024-01-01", "2024-01-05")
print(list(again["action"]))
"""),
    md("""
## Pause after N failures in a row

`max_consecutive_failures=N` pauses the task and says why (`task.pause_reason`, set before the
`task_pause` hook fires).
"""),
    code("""
def broken():
    raise RuntimeError("the source is down")

flaky = scheduler.create_task(name="flaky", handler=broken, max_consecutive_failures=3,
                              trigger={"type": "interval", "seconds": 3600})
for _ in range(3):
    await scheduler.wait_for(scheduler.run_task_now("flaky"), timeout=10)
await asyncio.sleep(0)
print(flaky.status)
print(flaky.pause_reason.split(";")[0])
"""),
    md("""
## Metrics for Prometheus

`start_metrics_server()` serves `/metrics` on 127.0.0.1 (the `metrics` extra).
"""),
    code("""
import urllib.request
from cognia_nb.metrics import start_metrics_server

server = start_metrics_server(0, scheduler=scheduler)   # 0: any free port; counts from now
await scheduler.wait_for(scheduler.run_task_now("load"), timeout=10)
body = await asyncio.to_thread(lambda: urllib.request.urlopen(server.url).read().decode())
print("\\n".join(line for line in body.splitlines()
                if line.startswith(("cognia_executions_total", "cognia_tasks{"))))
server.close(); server.exporter.close()
"""),
    md("""
## Tracing with OpenTelemetry

`enable_tracing()` makes each execution a span (the `otel` extra); here the SDK's in-memory
exporter catches them. A failed execution's span has the status `ERROR`.
"""),
    code("""
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from cognia_nb.metrics import enable_tracing

spans = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(spans))
tracer = enable_tracing(scheduler, tracer_provider=provider)
await scheduler.wait_for(scheduler.run_task_now("load"), timeout=10)
(span,) = spans.get_finished_spans()
print(span.name, {k: span.attributes[k] for k in
                  ("cognia.task", "cognia.trigger_kind", "cognia.status", "cognia.attempt")})
tracer.close()
"""),
    code("await scheduler.stop()"),
    md("""
## The same from the magics

`%%cognia_task` takes `--exclude DATE|A..B`, `--exclude-holidays DE-BY`, `--window` and
`--max-failures`; `%cognia explain NAME [N]`, `%cognia backfill NAME START END [--run]` and
`%cognia metrics [PORT]` work on the kernel's scheduler (kept in memory here).
"""),
    code("""
import os
os.environ["COGNIA_NB_STORE"] = "memory"
%load_ext cognia_nb
"""),
    live("""
%%cognia_task standup --cron '0 9 * * *' --tz Europe/Berlin --exclude-holidays DE-BY --window 'Mon-Fri 08:00-18:00' --max-failures 3
return "notes"
"""),
    live("%cognia explain standup 3"),
    code("""
plan = %cognia backfill standup 2024-12-30 2025-01-04
print(plan[["scheduled", "action", "detail"]].to_string())
"""),
]


def write_and_run(name: str, cells: list[nbformat.NotebookNode]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    path = NB / name
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NB)}}
    ).execute()
    nbformat.write(nb, path)
    print("wrote", path)


def main() -> None:
    NB.mkdir(exist_ok=True)
    os.environ["JUPYTER_DATA_DIR"] = tempfile.mkdtemp(prefix="cognia-nb-")
    os.environ.pop("COGNIA_NB_STORE", None)
    write_and_run("quickstart.ipynb", QUICKSTART)
    write_and_run("plugin_sdk.ipynb", PLUGIN_SDK)
    write_and_run("history_analysis.ipynb", HISTORY)
    write_and_run("scale_out_dask.ipynb", DASK)
    write_and_run("run_as_service.ipynb", SERVICE)
    write_and_run("analyst_tools.ipynb", ANALYST)


if __name__ == "__main__":
    sys.exit(main())
