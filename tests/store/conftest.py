"""Where a store under test lives: a SQLite file, or a schema on a private PostgreSQL server
(one ``TemporaryCluster`` for the session, a fresh schema per test)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cognia_nb.stores import PostgresStore, SQLiteStore, Store

_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A private PostgreSQL server on a Unix socket (skips where none can be had)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'cognia_nb[postgres]')")
    from cognia_nb.testing.postgres import ClusterUnavailable, TemporaryCluster

    try:
        cluster = TemporaryCluster().start()
    except ClusterUnavailable as exc:
        pytest.skip(f"no PostgreSQL server can be started here: {exc}")
    yield cluster
    cluster.stop()


@dataclass
class Place:
    """Where one test's store lives."""

    kind: str  # "sqlite" or "postgres"
    path: Path | None = None
    dsn: str | None = None
    schema: str | None = None

    def store(self, **options: Any) -> Store:
        """A new store object on this place (not opened)."""
        if self.kind == "sqlite":
            assert self.path is not None
            return SQLiteStore(self.path, **options)
        assert self.dsn is not None and self.schema is not None
        return PostgresStore(self.dsn, schema=self.schema, **options)

    def argv(self) -> list[str]:
        """How a worker script opens it: ``KIND LOCATION SCHEMA``."""
        return [self.kind, str(self.path or self.dsn), self.schema or "-"]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a raw query (``?`` marks; tables unqualified)."""
        if self.kind == "sqlite":
            import sqlite3

            conn = sqlite3.connect(str(self.path))
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        import psycopg
        from psycopg import sql as pgsql

        with psycopg.connect(str(self.dsn), autocommit=True) as pg:
            pg.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(self.schema)))
            cur = pg.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []


def open_place(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    if kind == "sqlite":
        return Place("sqlite", path=tmp_path / "store.db")
    cluster = request.getfixturevalue("pg_cluster")
    return Place("postgres", dsn=cluster.dsn, schema=f"t{next(_schemas)}")


@pytest.fixture(params=["sqlite", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    """A shared store's place: each test runs once on SQLite and once on PostgreSQL."""
    return open_place(request.param, request, tmp_path)
