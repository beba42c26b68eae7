"""``cognia-nb``: run plugins headless, validate manifests, look at a store.

    cognia-nb run PLUGIN_DIR... [--store PATH|memory] [--for SECONDS] [--grace SECONDS]
                  [--timezone ZONE]
    cognia-nb validate MANIFEST
    cognia-nb tasks [--store PATH]
    cognia-nb run NOTEBOOK.ipynb... [PLUGIN_DIR...] [--for S] [--grace S] [--kernel NAME]
    cognia-nb status [--store PATH]
    cognia-nb history [--task NAME] [--limit N] [--format table|csv|json] [--store PATH]

``--debug`` (before the command) or ``COGNIA_NB_DEBUG=1`` prints the traceback of an unexpected
error. Exit status: 0 success (``run``: stopped by ``--for``, Ctrl-C or SIGTERM); 1 an unexpected
error; 2 bad arguments, an invalid manifest, a plugin that cannot load, or a store that cannot
be opened.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from ._cli_out import EXIT_ERROR, EXIT_OK, EXIT_USAGE, table
from ._engine.scheduler import Scheduler
from ._engine.shutdown import STOP_GRACE
from ._errors import CogniaError

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "main"]


def _default_store() -> str:
    from .stores import default_store_path

    return os.environ.get("COGNIA_NB_STORE") or default_store_path()


def _duration(text: str) -> float:
    """``--for``: a finite number of seconds > 0 (``-5``, ``nan`` and ``inf`` are refused)."""
    return _seconds(text, allow_zero=False)


def _grace(text: str) -> float:
    """``--grace``: a finite number of seconds >= 0 (0: cancel at once)."""
    return _seconds(text, allow_zero=True)


def _seconds(text: str, *, allow_zero: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds {bound} such as 30 or 2.5, got {text!r}"
        )
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cognia-nb",
        description="Run cognia_nb plugins headless and inspect a scheduler store.",
        epilog="Exit status: 0 ok; 1 unexpected error; 2 bad arguments, invalid manifest, "
        "plugin that cannot load, or unusable store.",
    )
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of an unexpected error (also "
                        "COGNIA_NB_DEBUG=1)")  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)
    store_help = (
        "a SQLite file, a postgresql:// URL or 'memory' (default: $COGNIA_NB_STORE, "
        "else the Jupyter data dir)"
    )

    run = sub.add_parser("run", help="run plugins in the foreground until Ctrl-C or --for")
    run.add_argument("plugins", nargs="+", metavar="PLUGIN_DIR|NOTEBOOK.ipynb")
    run.add_argument("--store", default=None, help=store_help)
    run.add_argument("--for", dest="duration", type=_duration, default=None, metavar="SECONDS",
                     help="stop after this many seconds (> 0)")  # fmt: skip
    run.add_argument("--grace", type=_grace, default=STOP_GRACE, metavar="SECONDS",
                     help=f"on stop (--for, Ctrl-C, SIGTERM), running executions get this long "
                     f"to finish before they are cancelled (default {STOP_GRACE:g}); a second "
                     "Ctrl-C cancels them at once")  # fmt: skip
    run.add_argument("--timezone", default=None, metavar="ZONE",
                     help="default IANA zone of cron tasks (default: the system's)")  # fmt: skip
    run.add_argument(
        "--plain",
        action="store_true",
        help="plain log lines instead of the live table (automatic when not a TTY)",
    )
    run.add_argument("--kernel", default=None, metavar="NAME",
                     help="kernel of notebooks (default: each notebook's kernelspec)")  # fmt: skip

    validate = sub.add_parser("validate", help="check a plugin.json (or a plugin directory)")
    validate.add_argument("manifest", metavar="MANIFEST")

    tasks = sub.add_parser("tasks", help="list the tasks in a store")
    tasks.add_argument("--store", default=None, help=store_help)

    status = sub.add_parser("status", help="which kernels and services hold tasks on a store")
    status.add_argument("--store", default=None, help=store_help)

    history = sub.add_parser("history", help="show executions from a store")
    history.add_argument("--store", default=None, help=store_help)
    history.add_argument("--task", default=None, metavar="NAME", help="one task (name or id)")
    history.add_argument("--limit", type=int, default=50, metavar="N", help="newest N (50)")
    history.add_argument("--format", choices=("table", "csv", "json"), default="table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``cognia-nb`` and ``python -m cognia_nb``; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            from ._service._supervise import notebook_args

            if notebook_args(args.plugins)[0]:
                return _run_notebooks(args)
            from ._cli_run import run_plugins

            return asyncio.run(
                run_plugins(
                    args.plugins,
                    args.store or _default_store(),
                    args.duration,
                    args.timezone,
                    plain=args.plain or not sys.stdout.isatty(),
                    grace=args.grace,
                )
            )
        if args.command == "validate":
            return _validate(args.manifest)
        if args.command == "tasks":
            return _tasks(args.store or _default_store())
        if args.command == "status":
            from ._service._status import show_status

            return show_status(args.store or _default_store())
        return _history(args.store or _default_store(), args.task, args.limit, args.format)
    except CogniaError as exc:
        print(f"cognia-nb: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the command line reports; --debug shows the trace
        if args.debug or os.environ.get("COGNIA_NB_DEBUG", "") not in ("", "0"):
            traceback.print_exc()
        else:
            print("cognia-nb: run with --debug (or COGNIA_NB_DEBUG=1) for the traceback",
                  file=sys.stderr)  # fmt: skip
        print(f"cognia-nb: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # pragma: no cover - run handles SIGINT itself
        return EXIT_OK


def _run_notebooks(args: argparse.Namespace) -> int:
    from ._service._supervise import ServiceOptions, notebook_args, run_notebooks

    notebooks, plugins = notebook_args(args.plugins)
    from .stores._pg_dsn import is_postgres_dsn

    store = args.store or _default_store()
    options = ServiceOptions(store=store if is_postgres_dsn(store) else os.path.abspath(store),
                             duration=args.duration, grace=args.grace,
                             kernel_name=args.kernel)  # fmt: skip
    if args.store == "memory":
        raise CogniaError("--store memory cannot be shared with a notebook's kernel; give a "
                          "SQLite file")  # fmt: skip
    return asyncio.run(run_notebooks(notebooks, options, plugins, args.timezone,
                                     plain=args.plain or not sys.stdout.isatty()))  # fmt: skip


def _validate(path: str) -> int:
    from .plugins import load_manifest

    manifest = load_manifest(path)
    print(f"ok: {manifest.name} {manifest.version or ''}".rstrip()
          + f", {len(manifest.tasks)} scheduled task(s), capabilities: "
          + (", ".join(manifest.capabilities) or "none"))  # fmt: skip
    for entry in manifest.tasks:
        print(f"  - {entry['name']}: handler {entry['handler']!r}, trigger "
              f"{json.dumps(entry['trigger'])}")  # fmt: skip
    return EXIT_OK


def _open(store: str) -> Scheduler:
    from .stores._pg_dsn import is_postgres_dsn

    if is_postgres_dsn(store):
        from .stores import PostgresStore

        return Scheduler(store=PostgresStore(store, read_only=True))
    if store != "memory" and not os.path.exists(store):
        raise CogniaError(f"store {store!r} does not exist")
    if store == "memory":
        return Scheduler(store=store)
    from .stores import SQLiteStore

    # read-only: never prunes, writes, migrates or creates (a foreign file is left untouched)
    return Scheduler(store=SQLiteStore(store, read_only=True))


def _tasks(store: str) -> int:
    scheduler = _open(store)
    try:
        rows = [
            [t.name, t.plugin_id, t.describe(), str(t.status),
             t.next_run_at.isoformat(timespec="seconds") if t.next_run_at else "-",
             str(t.run_count), str(t.missed_count), str(t.skipped_count)]
            for t in sorted(scheduler.list_tasks(), key=lambda t: (t.plugin_id, t.name))
        ]  # fmt: skip
        table(["task", "plugin", "schedule", "status", "next run", "runs", "missed", "skipped"],
               rows)  # fmt: skip
    finally:
        scheduler.close()
    return EXIT_OK


#: The columns of ``history --format csv|json``, in order.
HISTORY_FIELDS = (
    "execution_id", "task_id", "task_name", "plugin_id", "trigger_kind", "status", "attempts",
    "missed", "abandoned", "scheduled_at", "started_at", "finished_at", "duration_s", "error",
    "output", "metrics",
)  # fmt: skip


def _history(store: str, task: str | None, limit: int, fmt: str) -> int:
    if limit < 1:
        raise CogniaError(f"--limit must be a positive number of executions, got {limit}")
    scheduler = _open(store)
    try:
        if task is not None:
            _known_task(scheduler, task)
        frame = scheduler.history(task_id=task, limit=limit, parse_output=True)
    finally:
        scheduler.close()
    records = _records(frame)
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(HISTORY_FIELDS)
        for r in records:  # output and metrics hold JSON text (a string output is quoted)
            writer.writerow([_csv_cell(r[k], k in ("output", "metrics")) for k in HISTORY_FIELDS])
        return EXIT_OK
    if fmt == "json":
        json.dump(records, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        return EXIT_OK
    rows = [[r["execution_id"], r["task_name"], r["status"], r["trigger_kind"],
             r["started_at"] or "-", "-" if r["duration_s"] is None else f"{r['duration_s']:.3f}",
             str(r["attempts"]), (r["error"] or "")[:60]] for r in records]  # fmt: skip
    table(["execution", "task", "status", "kind", "started (UTC)", "seconds", "attempts",
            "error"], rows)  # fmt: skip
    return EXIT_OK


def _known_task(scheduler: Scheduler, task: str) -> None:
    from ._errors import TaskNotFoundError

    try:
        scheduler.get_task(task)
    except TaskNotFoundError as exc:
        why = "several tasks have that name; give its id" if "use an id" in str(exc) else (
            "`cognia-nb tasks` lists the tasks in this store")  # fmt: skip
        raise CogniaError(f"no task {task!r} in the store; {why}") from None


def _csv_cell(value: Any, as_json: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and not as_json:
        return value
    return json.dumps(value, allow_nan=False)


def _plain(value: Any) -> Any:
    """A frame value as a JSON value: NaN/NaT become None, numpy scalars Python ones, what JSON
    cannot hold its ``repr`` (outputs and metrics may be anything a handler returned)."""
    import math

    if value is None or isinstance(value, bool | str):
        return value
    if hasattr(value, "item") and not isinstance(value, list | dict):
        try:
            value = value.item()  # numpy scalars
        except (ValueError, TypeError):
            return repr(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    try:
        import pandas as pd

        if value is pd.NaT or (not hasattr(value, "__len__") and pd.isna(value)):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return repr(value)


def _records(frame: Any) -> list[dict[str, Any]]:
    import pandas as pd

    def iso(value: Any) -> str | None:
        return None if pd.isna(value) else value.isoformat()

    metric_columns = [c for c in frame.columns if str(c).startswith("metrics.")]
    out = []
    for execution_id, row in frame.iterrows():
        duration = row["duration"]
        out.append({
            "execution_id": execution_id, "task_id": row["task_id"],
            "task_name": row["task_name"], "plugin_id": row["plugin_id"],
            "trigger_kind": str(row["trigger_kind"]), "status": str(row["status"]),
            "attempts": int(row["attempts"]), "missed": int(row["missed"]),
            "abandoned": bool(row["abandoned"]),  # its handler outlived the abort (still ran)
            "scheduled_at": iso(row["scheduled_at"]), "started_at": iso(row["started_at"]),
            "finished_at": iso(row["finished_at"]),
            "duration_s": None if pd.isna(duration) else duration.total_seconds(),
            "error": _plain(row["error"]), "output": _plain(row["output"]),
            "metrics": {str(k)[8:]: _plain(row[k]) for k in metric_columns
                        if _plain(row[k]) is not None},
        })  # fmt: skip
    return out


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
