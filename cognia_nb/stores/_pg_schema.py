"""The PostgreSQL schema (in a schema named by an option), its version and migrations.

Every connection sets ``search_path`` to the store's schema (quoted with
``psycopg.sql.Identifier``), so the statements name tables unqualified. The tables mirror the
SQLite store's (``_schema.py``, version 5) with PostgreSQL types; one column per line, so a
migration that adds columns is one ``ALTER TABLE ... ADD COLUMN`` entry appended below.
Migrations run in one transaction under an advisory lock: of several processes opening a new
database at once, one creates the schema and the others find it finished.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg import sql

from ._migrations import apply_migrations

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "PG_MIGRATIONS",
    "PG_SCHEMA_VERSION",
    "PgNewerSchemaError",
    "pg_migrate",
    "schema_version",
]

# Each entry upgrades from version i to i + 1. Never edit a released entry: add one.
PG_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE tasks (
        id text PRIMARY KEY,
        plugin_id text NOT NULL,
        name text NOT NULL,
        handler text NOT NULL,
        trigger text NOT NULL,
        description text,
        args text,
        retry text,
        timeout double precision,
        tags text,
        overlap text NOT NULL,
        misfire text NOT NULL,
        misfire_grace double precision NOT NULL,
        jitter double precision NOT NULL,
        executor text NOT NULL,
        created_ts double precision NOT NULL,
        updated_ts double precision NOT NULL,
        metadata text,
        UNIQUE (plugin_id, name)
    );
    CREATE TABLE task_state (
        id text PRIMARY KEY,
        status text NOT NULL,
        next_run_ts double precision,
        last_run_ts double precision,
        skipped_count bigint NOT NULL DEFAULT 0,
        missed_count bigint NOT NULL DEFAULT 0,
        run_count bigint NOT NULL DEFAULT 0,
        version bigint NOT NULL DEFAULT 0,
        claimed_due double precision,
        claimed_by text,
        released boolean NOT NULL DEFAULT false
    );
    CREATE TABLE executions (
        seq bigserial UNIQUE,
        id text PRIMARY KEY,
        task_id text NOT NULL,
        plugin_id text NOT NULL,
        task_name text NOT NULL,
        trigger_kind text NOT NULL,
        status text NOT NULL,
        attempt integer NOT NULL,
        created_ts double precision NOT NULL,
        scheduled_ts double precision NOT NULL,
        started_ts double precision,
        finished_ts double precision,
        progress double precision,
        progress_message text,
        output text,
        error text,
        traceback text,
        metrics text,
        logs text,
        missed bigint NOT NULL DEFAULT 0,
        skipped bigint NOT NULL DEFAULT 0,
        reason text,
        event text,
        owner text
    );
    CREATE INDEX executions_by_task ON executions (task_id, seq);
    CREATE INDEX executions_unfinished ON executions (owner)
        WHERE status IN ('pending', 'running');
    CREATE TABLE processes (
        owner text PRIMARY KEY,
        host text NOT NULL,
        pid integer NOT NULL,
        started_ts double precision NOT NULL,
        heartbeat_ts double precision,
        info text,
        heartbeat timestamptz NOT NULL DEFAULT now(),
        lease_seconds double precision NOT NULL
    )
    """,
    # 2: the policy columns of SQLite's schema 5 (pause on failure, calendars, exclusions).
    """
    ALTER TABLE tasks ADD COLUMN max_consecutive_failures integer;
    ALTER TABLE tasks ADD COLUMN calendar text;
    ALTER TABLE task_state ADD COLUMN excluded_count bigint NOT NULL DEFAULT 0;
    ALTER TABLE task_state ADD COLUMN consecutive_failures bigint NOT NULL DEFAULT 0;
    ALTER TABLE task_state ADD COLUMN pause_reason text;
    ALTER TABLE task_state ADD COLUMN last_excluded text
    """,
)

PG_SCHEMA_VERSION = len(PG_MIGRATIONS)

_SET_VERSION = (
    "INSERT INTO meta (key, value) VALUES ('schema_version', %s) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


class PgNewerSchemaError(Exception):
    """The schema was written by a newer cognia_nb (``args[0]`` is its version)."""


def schema_version(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> int:
    """The store's schema version (0: no cognia_nb tables yet).

    Raises:
        LookupError: the schema holds tables but is not a cognia_nb store.
    """
    row = conn.execute("SELECT to_regclass(format('%%I.meta', %s::text))", (schema,)).fetchone()
    if row is None or row[0] is None:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchone()
        if tables and int(str(tables[0])):
            raise LookupError(f"schema {schema!r} holds tables but no cognia_nb 'meta' table")
        return 0
    found = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(str(found[0])) if found else 0


def pg_migrate(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> int:
    """Create or upgrade the schema (one transaction, advisory lock); returns the version found.

    Raises:
        LookupError: the schema holds tables but is not a cognia_nb store.
        PgNewerSchemaError: the schema is newer than this version knows.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"cognia_nb:{schema}",))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        version = schema_version(conn, schema)
        apply_migrations(
            version,
            PG_MIGRATIONS,
            lambda statement: conn.execute(statement.encode()),  # DDL of this module, no params
            lambda target: conn.execute(_SET_VERSION, (str(target),)),
            PgNewerSchemaError,
        )
    return version
