"""Which process ran an execution (SQLite and PostgreSQL stores), and which service holds a
task (SQLite stores only).

Both read the store's ``owner`` columns and process table through a read-only connection; any
failure is logged and shown as nothing, so the board never breaks on it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from ..stores._inspect import connect_read_only
from ..stores.sqlite import SQLiteStore

__all__ = ["REFRESH_SECONDS", "ServiceBadges", "execution_owners", "ran_in"]

log = logging.getLogger("cognia_nb.jupyter")
REFRESH_SECONDS = 5.0  # holders are read at most this often


def ran_in(owner: str | None, mine: str | None) -> str:
    """``this kernel``, ``HOST pid N`` (from ``host:pid:start:random``) or ``""``."""
    if not owner:
        return ""
    if owner == mine:
        return "this kernel"
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    return f"{host} pid {pid}" if pid else owner


def execution_owners(store: Any, ids: Iterable[str]) -> dict[str, str]:
    """Execution id -> owner token, for the given executions of a SQLite store (or of a store
    that answers ``execution_owners(ids)`` itself, like the PostgreSQL one)."""
    wanted = list(ids)
    own = getattr(store, "execution_owners", None)
    if callable(own) and wanted:
        try:
            return dict(own(wanted))
        except Exception:
            log.exception("cognia_nb board: reading execution owners failed")
            return {}
    if not isinstance(store, SQLiteStore) or not wanted or not store.path.exists():
        return {}
    try:
        conn = connect_read_only(store.path, timeout=1.0)
        try:
            marks = ", ".join("?" * len(wanted))
            rows = conn.execute(
                f"SELECT id, owner FROM executions WHERE id IN ({marks})", wanted
            ).fetchall()
        finally:
            conn.close()
    except Exception:
        log.exception("cognia_nb board: reading execution owners failed")
        return {}
    return {str(i): str(o) for i, o in rows if o}


class ServiceBadges:
    """Task name -> ``in service on HOST pid N`` for tasks another live service holds."""

    def __init__(self) -> None:
        self.badges: dict[str, str] = {}
        self._at = -REFRESH_SECONDS

    def refresh(self, store: Any) -> bool:
        """Re-read the holders if the last read is old enough; True when the badges changed."""
        now = time.monotonic()
        if not isinstance(store, SQLiteStore) or now - self._at < REFRESH_SECONDS:
            return False
        self._at = now
        from .._service._status import holders

        badges: dict[str, str] = {}
        try:
            for holder in holders(store.location):
                if holder.alive and holder.kind == "service" and holder.owner != store.owner:
                    for name in holder.tasks:
                        badges.setdefault(name, f"in {holder.describe()}")
        except Exception:
            log.exception("cognia_nb board: reading the store's processes failed")
            return False
        changed, self.badges = badges != self.badges, badges
        return changed
