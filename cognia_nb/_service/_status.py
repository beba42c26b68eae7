"""``cognia-nb status``: which processes hold tasks on a store, and whether they live.

Read straight from the SQLite file, read-only: looking must not register a process, mark
anything interrupted or wait for a writer. A holder is a row of the store's process table
(every process with the store open: a notebook kernel, a ``cognia-nb run`` service or plugin
runner); its tasks are those it claimed firings of, ran, or (a notebook) defines. It is dead
when it ran on this host and its pid is gone, or its heartbeat is older than the lease.
Restarts of a service are kept in the store's ``meta`` table (:func:`record_restart`).
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import CogniaError
from ..stores._procs import LEASE_SECONDS, process_alive

__all__ = ["Holder", "holders", "record_restart", "restarts", "show_status"]

_RESTARTS_KEPT = 20


@dataclass
class Holder:
    """One process on the store."""

    owner: str
    host: str
    pid: int
    started_ts: float
    heartbeat_ts: float | None
    info: dict[str, Any]
    alive: bool
    tasks: list[str] = field(default_factory=list)
    last_activity_ts: float | None = None

    @property
    def kind(self) -> str:
        """``service``, ``kernel`` or ``process``."""
        return str(self.info.get("kind", "process"))

    def describe(self) -> str:
        """``service on HOST pid N`` (the badge the issue asks for)."""
        return f"{self.kind} on {self.host} pid {self.pid}"


def _connect(store: str) -> sqlite3.Connection:
    if not Path(store).exists():
        raise CogniaError(f"store {store!r} does not exist")
    try:
        conn = sqlite3.connect(f"file:{Path(store).resolve()}?mode=ro", uri=True, timeout=10)
        conn.execute("SELECT 1 FROM processes LIMIT 1")
    except sqlite3.Error as exc:
        raise CogniaError(f"store {store!r} cannot be read as a cognia_nb store: {exc}") from exc
    return conn


def _columns(conn: sqlite3.Connection) -> set[str]:
    return {row[1] for row in conn.execute("PRAGMA table_info(processes)")}


def _alive(host: str, pid: int, owner: str, beat: float | None, now: float) -> bool:
    if host == socket.gethostname():
        return process_alive(pid, owner)
    return beat is not None and now - beat <= LEASE_SECONDS


def _tasks_of(conn: sqlite3.Connection, holder: Holder) -> None:
    names: set[str] = set()
    claimed = conn.execute(
        "SELECT t.name FROM task_state AS s JOIN tasks AS t ON t.id = s.id "
        "WHERE s.claimed_by LIKE ? ESCAPE '\\'",
        (holder.owner.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%",),
    )
    names.update(r[0] for r in claimed)
    ran = conn.execute(
        "SELECT task_name, max(coalesce(finished_ts, started_ts, created_ts)) FROM executions "
        "WHERE owner = ? GROUP BY task_name",
        (holder.owner,),
    ).fetchall()
    names.update(r[0] for r in ran)
    holder.last_activity_ts = max((r[1] for r in ran if r[1] is not None), default=None)
    notebook = holder.info.get("notebook")
    if notebook:
        defined = conn.execute(
            "SELECT name FROM tasks WHERE plugin_id = ?", (f"notebook:{notebook}",)
        )
        names.update(r[0] for r in defined)
    holder.tasks = sorted(names)


def holders(store: str) -> list[Holder]:
    """The processes of ``store``'s process table, oldest first, with their tasks.

    Raises:
        CogniaError: the file is missing or is not a cognia_nb store.
    """
    conn = _connect(store)
    try:
        has_beat = "heartbeat_ts" in _columns(conn)
        extra = ", heartbeat_ts, info" if has_beat else ", NULL, NULL"
        rows = conn.execute(
            f"SELECT owner, host, pid, started_ts{extra} FROM processes ORDER BY started_ts"
        ).fetchall()
        now, out = time.time(), []
        for owner, host, pid, started, beat, info in rows:
            try:
                details = json.loads(info) if info else {}
            except ValueError:
                details = {}
            holder = Holder(owner, host, int(pid), float(started), beat,
                            details if isinstance(details, dict) else {},
                            _alive(host, int(pid), owner, beat, now))  # fmt: skip
            _tasks_of(conn, holder)
            out.append(holder)
        return out
    finally:
        conn.close()


def _key(notebook: str) -> str:
    return f"service.restarts:{notebook}"


def record_restart(store: str, notebook: str, reason: str, owner: str | None) -> None:
    """Append a restart of the service of ``notebook`` to the store (the last 20 are kept)."""
    conn = sqlite3.connect(store, timeout=10, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (_key(notebook),)).fetchone()
        kept = json.loads(row[0]) if row else []
        kept.append({"ts": time.time(), "reason": reason, "owner": owner})
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (_key(notebook), json.dumps(kept[-_RESTARTS_KEPT:])),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def restarts(store: str) -> dict[str, list[dict[str, Any]]]:
    """Recorded restarts per notebook (oldest first)."""
    conn = _connect(store)
    try:
        rows = conn.execute(
            "SELECT key, value FROM meta WHERE key LIKE 'service.restarts:%'"
        ).fetchall()
    finally:
        conn.close()
    return {key.split(":", 1)[1]: json.loads(value) for key, value in rows}


def _ago(ts: float | None, now: float) -> str:
    if ts is None:
        return "-"
    seconds = max(0.0, now - ts)
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    return f"{seconds / 60:.0f} min ago" if seconds < 7200 else f"{seconds / 3600:.0f} h ago"


def show_status(store: str) -> int:
    """Print the holders of ``store`` and the recorded restarts (``cognia-nb status``)."""
    from .._cli_out import EXIT_OK, table

    now, found = time.time(), holders(store)
    rows = [
        [h.kind, f"{h.host} pid {h.pid}", "alive" if h.alive else "DEAD",
         Path(str(h.info["notebook"])).name if h.info.get("notebook") else "-",
         _ago(h.started_ts, now), _ago(h.heartbeat_ts, now), _ago(h.last_activity_ts, now),
         str(h.info.get("restarts", 0)) if h.kind == "service" else "-",
         ", ".join(h.tasks) or "-"]
        for h in found
    ]  # fmt: skip
    print(f"{store}: {len(found)} process(es), {sum(h.alive for h in found)} alive")
    if rows:
        table(["holder", "where", "state", "notebook", "started", "heartbeat", "last run",
                "restarts", "tasks"], rows)  # fmt: skip
    for notebook, entries in sorted(restarts(store).items()):
        last = entries[-1]
        print(f"{Path(notebook).name}: {len(entries)} restart(s) recorded, last "
              f"{_ago(last['ts'], now)}: {last['reason']}")  # fmt: skip
    return EXIT_OK
