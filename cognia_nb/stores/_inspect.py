"""Looking at a SQLite file without changing it, before anything is written to it.

A store is inspected read-only first: an ``immutable`` read-only connection when no ``-wal``
file exists (so not even ``-shm``/``-wal`` side files appear), a plain read-only one when a
``-wal`` is there (a live or crashed WAL database, whose side files exist already). Only a file
that passes every check is switched to WAL and written; a refused file is left byte for byte
as it was.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from ._schema import current_version

__all__ = ["connect_read_only", "inspect_version", "to_wal"]


def connect_read_only(path: Path, *, timeout: float, immutable: bool = False) -> sqlite3.Connection:
    """A connection that cannot write to ``path`` (``mode=ro``, optionally ``immutable``)."""
    uri = f"file:{quote(os.fspath(path))}?mode=ro" + ("&immutable=1" if immutable else "")
    return sqlite3.connect(
        uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
    )


def inspect_version(path: Path, *, timeout: float) -> int:
    """The schema version of the file (0: empty), read without changing it.

    Raises:
        sqlite3.DatabaseError: not a readable SQLite database.
        LookupError: a SQLite database of something else.
    """
    wal = Path(f"{path}-wal").exists()
    conn = connect_read_only(path, timeout=timeout, immutable=not wal)
    try:
        return current_version(conn)
    except sqlite3.DatabaseError:
        if wal or not Path(f"{path}-wal").exists():
            raise
    finally:
        conn.close()
    # a process switched the file to WAL while it was read: read it again, the normal way
    return inspect_version(path, timeout=timeout)


def to_wal(conn: sqlite3.Connection, timeout: float) -> str:
    """Switch to WAL (only for a file that passed inspection); returns the journal mode.

    The switch does not wait on the busy handler when another process is switching the same
    new file at that moment ("database is locked"), so it is retried for ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)
