"""``%%cognia_task`` and ``%cognia``: a thin IPython layer over the scheduler.

The magics parse arguments and delegate; every user error (a bad option, an unknown task, an
invalid cron expression) becomes a ``UsageError``, which IPython shows without a traceback.
"""

from __future__ import annotations

import contextvars
import json
import shlex
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .._default import get_scheduler, notebook_plugin_id
from .._engine.scheduler import Scheduler
from .._errors import CogniaError
from ..plugins._manifest import nesting_depth, reject_json_constant
from ._card import TaskCard
from ._cell import compile_cell
from ._display import EmitReport, TaskSummary, TaskTableView
from ._kernel import ensure_streams

__all__ = ["CogniaMagics"]

#: How deep a ``%cognia emit`` JSON payload may nest (3,000 levels made json.loads recurse out).
EMIT_MAX_DEPTH = 64
_TOO_DEEP = object()
_SUBCOMMANDS = "list | pause NAME | resume NAME | run NAME | delete NAME | history [NAME] | " \
    "emit TYPE [JSON] | explain NAME [N] | backfill NAME START END [--run] | " \
    "metrics [PORT] | panel | serve [--print] [--name NAME]"  # fmt: skip


def _usage(exc: CogniaError) -> UsageError:
    return UsageError(str(exc))


def _trigger(args: Any) -> dict[str, Any]:
    options = (("--cron", args.cron), ("--interval", args.interval),
               ("--once-at", args.once_at), ("--event", args.event))  # fmt: skip
    given = [(flag, value) for flag, value in options if value is not None]
    if len(given) != 1:
        names = ", ".join(flag for flag, _ in given) or "none"
        raise UsageError(f"%%cognia_task needs exactly one of --cron, --interval, --once-at, "
                         f"--event (got {names})")  # fmt: skip
    if args.cron is not None:
        trigger: dict[str, Any] = {"type": "cron", "expression": args.cron}
        if args.tz:
            trigger["timezone"] = args.tz
        return trigger
    if args.tz:
        raise UsageError("--tz only applies to --cron")
    if args.interval is not None:
        return {"type": "interval", "seconds": args.interval}
    if args.once_at is not None:
        return {"type": "once", "runAt": args.once_at}
    trigger = {"type": "event", "eventType": args.event}
    if args.event_source:
        trigger["eventSource"] = args.event_source
    return trigger


def _policy_options(args: Any) -> dict[str, Any]:
    """``--max-failures``, ``--exclude[-holidays]`` and ``--window`` as create_task keys."""
    exclude: list[Any] = list(args.exclude or ())
    if args.exclude_holidays:
        exclude.append({"holidays": args.exclude_holidays})
    out: dict[str, Any] = {"max_consecutive_failures": args.max_failures}
    if exclude:
        out["exclude"] = exclude
    if args.windows:
        out["windows"] = args.windows
    return out


@magics_class
class CogniaMagics(Magics):
    """``%%cognia_task NAME ...`` and ``%cognia SUBCOMMAND ...``."""

    def __init__(self, shell: Any, scheduler_factory: Callable[[], Scheduler] = get_scheduler):
        super().__init__(shell)
        self._scheduler_factory = scheduler_factory

    @property
    def scheduler(self) -> Scheduler:
        return self._scheduler_factory()

    # -- %%cognia_task ---------------------------------------------------------------------

    @magic_arguments()
    @argument("name", help="the task's name (re-running the cell updates this task)")
    @argument("--cron", help="a cron expression, quoted: --cron '0 9 * * MON-FRI'")
    @argument("--tz", "--timezone", dest="tz", help="IANA zone of --cron (default: the system's)")
    @argument("--interval", type=float, help="run every S seconds")
    @argument("--once-at", dest="once_at", help="run once at an ISO time with an offset")
    @argument("--event", help="run when this event is emitted")
    @argument("--event-source", dest="event_source", help="... only from this source")
    @argument("--retry", type=int, default=0, help="retries after a failed attempt (default 0)")
    @argument("--retry-delay", dest="retry_delay", type=float, default=60.0,
              help="seconds between attempts (default 60)")  # fmt: skip
    @argument("--timeout", default="300", help="seconds per attempt, or 'none' (default 300)")
    @argument("--tags", default="", help="comma-separated tags")
    @argument("--description", default="", help="what the task does")
    @argument("--overlap", default="skip", help="skip | queue | allow | replace")
    @argument("--misfire", default="coalesce", help="coalesce | skip | run_all")
    @argument("--executor", default="default", help="where handlers run (default: this kernel)")
    @argument("--max-failures", dest="max_failures", type=int, default=None,
              help="pause after N failed executions in a row")  # fmt: skip
    @argument("--exclude-holidays", dest="exclude_holidays", default=None,
              help="skip public holidays, e.g. DE-BY (the holidays extra)")  # fmt: skip
    @argument(
        "--exclude",
        dest="exclude",
        action="append",
        default=None,
        help="skip a date or range: 2025-12-24 or 2025-12-24..2025-12-31 (repeatable)",
    )
    @argument(
        "--window",
        dest="windows",
        action="append",
        default=None,
        help="only run inside: 'Mon-Fri 08:00-18:00' (task's zone; repeatable)",
    )
    @argument("--paused", action="store_true", help="create it paused")
    @argument("--run-now", dest="run_now", action="store_true", help="also run it once now")
    @cell_magic
    def cognia_task(self, line: str, cell: str) -> TaskCard:
        """Turn the cell body into a scheduled task (a handler with ``args`` and ``context``).

        The body runs on the kernel loop when it uses ``await``, else in a worker thread. The
        cell shows the task's live card (see :class:`~._card.TaskCard`).
        """
        try:
            words = shlex.split(line)  # POSIX quoting: --cron '0 9 * * *', 'a name'
        except ValueError as exc:
            raise UsageError(f"%%cognia_task: {exc}") from None
        args = self.cognia_task.parser.parse_args(words)
        trigger = _trigger(args)
        timeout: float | None
        if str(args.timeout).lower() in ("none", "0", "off"):
            timeout = None
        else:
            try:
                timeout = float(args.timeout)
            except ValueError:
                raise UsageError(
                    f"--timeout must be seconds or 'none', got {args.timeout!r}"
                ) from None
        if args.retry < 0:
            raise UsageError(f"--retry must be >= 0 (retries after the first attempt), got "
                             f"{args.retry}")  # fmt: skip
        scheduler = self.scheduler
        shell = self.shell
        assert shell is not None
        ensure_streams()
        try:
            fn, _is_async = compile_cell(args.name, cell, shell.user_ns,
                                         transform=shell.transform_cell)  # fmt: skip
            plugin_id = notebook_plugin_id()
            task = scheduler.create_task({
                "name": args.name, "handler": args.name, "trigger": trigger,
                "description": args.description,
                "retry": {"maxAttempts": args.retry + 1, "delaySeconds": args.retry_delay},
                "timeout": timeout,
                "tags": [t.strip() for t in args.tags.split(",") if t.strip()],
                "enabled": not args.paused, "overlap": args.overlap, "misfire": args.misfire,
                "executor": args.executor, "plugin_id": plugin_id,
                **_policy_options(args),
            })  # fmt: skip
            # Runs happen in a copy of this cell's context: their output comes back here.
            scheduler.register_handler(args.name, fn, plugin_id=plugin_id,
                                       context=contextvars.copy_context())  # fmt: skip
            note = ""
            if args.run_now:
                note = f"--run-now started execution {scheduler.run_task_now(task.id)}"
        except CogniaError as exc:
            raise _usage(exc) from None
        return TaskCard(scheduler, task, note)

    # -- %cognia -----------------------------------------------------------------------------

    @line_magic
    def cognia(self, line: str) -> Any:
        """``%cognia list | pause NAME | resume NAME | run NAME | delete NAME | history [NAME]
        | emit TYPE [JSON] | explain NAME [N] | backfill NAME START END [--run] | metrics [PORT]
        | panel | serve [--print] [--name NAME]``."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%cognia: {exc}") from None
        if not words:
            raise UsageError(f"usage: %cognia {_SUBCOMMANDS}")
        command, rest = words[0], words[1:]
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            raise UsageError(f"%cognia: unknown command {command!r}; use {_SUBCOMMANDS}")
        try:
            return handler(rest)
        except CogniaError as exc:
            raise _usage(exc) from None

    def _one(self, rest: list[str], command: str) -> str:
        if len(rest) != 1:
            raise UsageError(f"usage: %cognia {command} NAME (a task name or id; quote names "
                             "with spaces)")  # fmt: skip
        return self.scheduler.get_task(rest[0]).id

    def _cmd_list(self, rest: list[str]) -> TaskTableView:
        return TaskTableView(self.scheduler.list_tasks(), self.scheduler.abandoned_threads)

    def _cmd_pause(self, rest: list[str]) -> TaskSummary:
        return TaskSummary(self.scheduler.pause_task(self._one(rest, "pause")))

    def _cmd_resume(self, rest: list[str]) -> TaskSummary:
        return TaskSummary(self.scheduler.resume_task(self._one(rest, "resume")))

    def _cmd_delete(self, rest: list[str]) -> str:
        task_id = self._one(rest, "delete")
        name = self.scheduler.get_task(task_id).name
        self.scheduler.delete_task(task_id)
        print(f"deleted task {name!r} ({task_id}); its history stays")
        return None  # type: ignore[return-value]

    def _cmd_run(self, rest: list[str]) -> Any:
        scheduler = self.scheduler
        execution_id = scheduler.run_task_now(self._one(rest, "run"))
        if getattr(self.shell, "kernel", None) is None:
            print(f"started execution {execution_id}")
            return None
        from ._progress import ExecutionProgress

        return ExecutionProgress(scheduler, execution_id)

    def _cmd_history(self, rest: list[str]) -> Any:
        if len(rest) > 1:
            raise UsageError("usage: %cognia history [NAME]")
        return self.scheduler.history(task_id=rest[0] if rest else None)

    def _cmd_emit(self, rest: list[str]) -> EmitReport:
        if not rest or len(rest) > 2:
            raise UsageError("usage: %cognia emit TYPE [JSON]  e.g. %cognia emit data:ready "
                             "'{\"rows\": 10}'")  # fmt: skip
        payload = None
        if len(rest) == 2:
            try:
                payload = json.loads(rest[1], parse_constant=reject_json_constant)
            except RecursionError:
                payload = _TOO_DEEP
            except ValueError as exc:
                raise UsageError(f"%cognia emit: the payload is not JSON: {exc}") from None
            if payload is _TOO_DEEP or nesting_depth(payload, EMIT_MAX_DEPTH) > EMIT_MAX_DEPTH:
                raise UsageError(f"%cognia emit: the payload nests deeper than {EMIT_MAX_DEPTH} "
                                 "levels; send a flatter JSON value")  # fmt: skip
        scheduler = self.scheduler
        ids = scheduler.emit(rest[0], payload, source="user")
        names = []
        for execution_id in ids:
            try:
                names.append(scheduler.get_execution(execution_id).task_name)
            except CogniaError:  # finished and not stored yet: the id still says which
                names.append("?")
        return EmitReport(rest[0], "user", list(zip(names, ids, strict=True)))

    def _cmd_serve(self, rest: list[str]) -> Any:
        from ._serve import serve

        name, print_only, words = None, False, list(rest)
        while words:
            word = words.pop(0)
            if word == "--print":
                print_only = True
            elif word == "--name" and words:
                name = words.pop(0)
            else:
                raise UsageError(f"%cognia serve: unexpected {word!r}; usage: %cognia serve "
                                 "[--print] [--name NAME]")  # fmt: skip
        return serve(self.scheduler.store.location, name=name, print_only=print_only)

    def _cmd_explain(self, rest: list[str]) -> Any:
        if not 1 <= len(rest) <= 2 or (len(rest) == 2 and not rest[1].isdigit()):
            raise UsageError("usage: %cognia explain NAME [N]  (the next N fire times, "
                             "default 10, and what DST did to them)")  # fmt: skip
        n = int(rest[1]) if len(rest) == 2 else 10
        return self.scheduler.explain(self._one(rest[:1], "explain"), n=n)

    def _cmd_backfill(self, rest: list[str]) -> Any:
        run = "--run" in rest
        words = [w for w in rest if w != "--run"]
        if len(words) != 3:
            raise UsageError(
                "usage: %cognia backfill NAME START END [--run]  (dates or ISO times in "
                "the task's zone; without --run only lists them)"
            )
        task_id = self._one(words[:1], "backfill")
        return self.scheduler.backfill(task_id, words[1], words[2], dry_run=not run)

    def _cmd_metrics(self, rest: list[str]) -> str:
        if len(rest) > 1 or (rest and not rest[0].isdigit()):
            raise UsageError("usage: %cognia metrics [PORT]  (serve Prometheus metrics on "
                             "127.0.0.1, default port 9464)")  # fmt: skip
        from ..metrics import DEFAULT_PORT, start_metrics_server

        server = getattr(self, "_metrics_server", None)
        if server is None:
            port = int(rest[0]) if rest else DEFAULT_PORT
            server = start_metrics_server(port, scheduler=self.scheduler)
            self._metrics_server = server
        return str(server.url)

    def _cmd_panel(self, rest: list[str]) -> Any:
        from ._panel import make_panel

        return make_panel(self.scheduler)
