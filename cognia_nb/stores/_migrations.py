"""The migration loop both schemas share; the steps stay per backend (``_schema.py`` for
SQLite, ``_pg_schema.py`` for PostgreSQL), and so does the transaction around the loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["apply_migrations"]


def apply_migrations(
    version: int,
    steps: Sequence[str],
    execute: Callable[[str], object],
    record: Callable[[int], object],
    newer: type[Exception],
) -> None:
    """Run the steps after ``version``, statement by statement, recording each version reached.

    Args:
        version: the version found (0: an empty database).
        steps: entry ``i`` upgrades from version ``i`` to ``i + 1`` (statements split on ``;``).
        execute: runs one statement (inside the caller's transaction).
        record: stores the version just reached.
        newer: raised with ``version`` when it is newer than the steps know.
    """
    if version > len(steps):
        raise newer(version)
    for target in range(version + 1, len(steps) + 1):
        for statement in steps[target - 1].split(";"):
            if statement.strip():
                execute(statement)
        record(target)
