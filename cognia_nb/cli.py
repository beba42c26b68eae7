"""``cognia-nb``: run plugins headless, validate manifests, look at a store.

    cognia-nb run PLUGIN_DIR... [--store PATH|memory] [--for SECONDS] [--timezone ZONE]
    cognia-nb validate MANIFEST
    cognia-nb tasks [--store PATH]
    cognia-nb history [--task NAME] [--limit N] [--format table|csv|json] [--store PATH]

Exit status: 0 success (``run``: stopped by ``--for``, Ctrl-C or SIGTERM); 1 an unexpected
error; 2 bad arguments, an invalid manifest, a plugin that cannot load, or a store that cannot
be opened.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from typing import Any

from ._errors import CogniaError
from ._scheduler import Scheduler

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _default_store() -> str:
    from .stores import default_store_path

    return os.environ.get("COGNIA_NB_STORE") or default_store_path()


def _duration(text: str) -> float:
    """``--for``: a finite number of seconds > 0 (``-5``, ``nan`` and ``inf`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds > 0 such as 30 or 2.5, got {text!r}"
        )
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cognia-nb",
        description="Run cognia_nb plugins headless and inspect a scheduler store.",
        epilog="Exit status: 0 ok; 1 unexpected error; 2 bad arguments, invalid manifest, "
        "plugin that cannot load, or unusable store.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    store_help = "a SQLite file or 'memory' (default: $COGNIA_NB_STORE, else the Jupyter data dir)"

    run = sub.add_parser("run", help="run plugins in the foreground until Ctrl-C or --for")
    run.add_argument("plugins", nargs="+", metavar="PLUGIN_DIR")
    run.add_argument("--store", default=None, help=store_help)
    run.add_argument("--for", dest="duration", type=_duration, default=None, metavar="SECONDS",
                     help="stop after this many seconds (> 0)")  # fmt: skip
    run.add_argument("--timezone", default=None, metavar="ZONE",
                     help="default IANA zone of cron tasks (default: the system's)")  # fmt: skip
    run.add_argument(
        "--plain",
        action="store_true",
        help="plain log lines instead of the live table (automatic when not a TTY)",
    )

    validate = sub.add_parser("validate", help="check a plugin.json (or a plugin directory)")
    validate.add_argument("manifest", metavar="MANIFEST")

    tasks = sub.add_parser("tasks", help="list the tasks in a store")
    tasks.add_argument("--store", default=None, help=store_help)

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
            from ._cli_run import run_plugins

            return asyncio.run(
                run_plugins(
                    args.plugins,
                    args.store or _default_store(),
                    args.duration,
                    args.timezone,
                    plain=args.plain or not sys.stdout.isatty(),
                )
            )
        if args.command == "validate":
            return _validate(args.manifest)
        if args.command == "tasks":
            return _tasks(args.store or _default_store())
        return _history(args.store or _default_store(), args.task, args.limit, args.format)
    except CogniaError as exc:
        print(f"cognia-nb: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the command line reports, never dumps a trace
        print(f"cognia-nb: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # pragma: no cover - run handles SIGINT itself
        return EXIT_OK


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
    if store != "memory" and not os.path.exists(store):
        raise CogniaError(f"store {store!r} does not exist")
    if store == "memory":
        return Scheduler(store=store)
    from .stores import SQLiteStore

    # read-only: never prunes, writes, migrates or creates (a foreign file is left untouched)
    return Scheduler(store=SQLiteStore(store, read_only=True))


def _table(headers: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*headers, show_lines=False)
    for row in rows:
        table.add_row(*row)
    # The width of stdout (not stdin's, which may be redirected): COLUMNS, else the terminal.
    columns = shutil.get_terminal_size((160, 24)).columns
    Console(width=max(100, min(200, columns)) if sys.stdout.isatty() else 160).print(table)


def _tasks(store: str) -> int:
    scheduler = _open(store)
    try:
        rows = [
            [t.name, t.plugin_id, t.describe(), str(t.status),
             t.next_run_at.isoformat(timespec="seconds") if t.next_run_at else "-",
             str(t.run_count), str(t.missed_count), str(t.skipped_count)]
            for t in sorted(scheduler.list_tasks(), key=lambda t: (t.plugin_id, t.name))
        ]  # fmt: skip
        _table(["task", "plugin", "schedule", "status", "next run", "runs", "missed", "skipped"],
               rows)  # fmt: skip
    finally:
        scheduler.close()
    return EXIT_OK


def _history(store: str, task: str | None, limit: int, fmt: str) -> int:
    scheduler = _open(store)
    try:
        frame = scheduler.history(task_id=task, limit=limit, parse_output=True)
    finally:
        scheduler.close()
    if fmt == "csv":
        frame.to_csv(sys.stdout)
        return EXIT_OK
    records = _records(frame)
    if fmt == "json":
        json.dump(records, sys.stdout, indent=2, default=repr)
        sys.stdout.write("\n")
        return EXIT_OK
    rows = [[r["execution_id"], r["task_name"], r["status"], r["trigger_kind"],
             r["started_at"] or "-", "-" if r["duration_s"] is None else f"{r['duration_s']:.3f}",
             str(r["attempts"]), (r["error"] or "")[:60]] for r in records]  # fmt: skip
    _table(["execution", "task", "status", "kind", "started (UTC)", "seconds", "attempts",
            "error"], rows)  # fmt: skip
    return EXIT_OK


def _records(frame: Any) -> list[dict[str, Any]]:
    import pandas as pd

    def iso(value: Any) -> str | None:
        return None if pd.isna(value) else value.isoformat()

    out = []
    for execution_id, row in frame.iterrows():
        duration = row["duration"]
        out.append({
            "execution_id": execution_id, "task_id": row["task_id"],
            "task_name": row["task_name"], "plugin_id": row["plugin_id"],
            "trigger_kind": row["trigger_kind"], "status": row["status"],
            "attempts": int(row["attempts"]), "missed": int(row["missed"]),
            "scheduled_at": iso(row["scheduled_at"]), "started_at": iso(row["started_at"]),
            "finished_at": iso(row["finished_at"]),
            "duration_s": None if pd.isna(duration) else duration.total_seconds(),
            "error": row["error"], "output": row["output"],
            "metrics": {k[8:]: v.item() if hasattr(v, "item") else v for k, v in row.items()
                        if str(k).startswith("metrics.") and not pd.isna(v)},
        })  # fmt: skip
    return out


def _install_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
