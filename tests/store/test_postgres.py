"""What only the PostgreSQL store has: DSNs and their masking, the schema option, refusals,
the missing-dependency error, leases of dead processes (real server, ``pg_cluster``)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from cognia_nb import (
    ExecutionStatus,
    MissingDependencyError,
    Scheduler,
    StoreError,
    TaskValidationError,
)
from cognia_nb._model.task import Task
from cognia_nb.stores import PostgresStore, open_store
from cognia_nb.stores._pg_dsn import mask
from cognia_nb.testing.postgres import TemporaryCluster

from .conftest import Place, open_place
from .test_contract import _claim


@pytest.fixture
def pg(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    return open_place("postgres", request, tmp_path)


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://bob:s3cr%40t@db:5432/x", "postgresql://bob:***@db:5432/x"),
        ("postgres://bob:p@ss@db/x", "postgres://bob:***@db/x"),
        ("host=db user=bob password=hunter2 dbname=x", "host=db user=bob password=*** dbname=x"),
        ("host=db password='a b\\' c' dbname=x", "host=db password=*** dbname=x"),
        ("postgresql://db/x?user=a&password=zz&sslmode=require",
         "postgresql://db/x?user=a&password=***&sslmode=require"),
        ("postgresql://bob@db/x", "postgresql://bob@db/x"),
    ],
)  # fmt: skip
def test_passwords_are_masked(dsn: str, shown: str) -> None:
    assert mask(dsn) == shown


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://bob:hunter2@/nodb?host=/nonexistent-dir",
     "host=/nonexistent-dir user=bob password=hunter2 dbname=nodb"],
)  # fmt: skip
def test_a_failed_connection_names_the_store_without_its_password(dsn: str) -> None:
    store = PostgresStore(dsn)
    assert "hunter2" not in repr(store) and "***" in repr(store)
    assert "hunter2" not in store.location
    with pytest.raises(StoreError, match=r"cannot connect") as info:
        store.open()
    assert "hunter2" not in str(info.value) and "***" in str(info.value)
    assert info.value.__cause__ is None  # psycopg's own text is not chained along


def test_without_psycopg_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'cognia_nb\[postgres\]'"):
        PostgresStore("postgresql://db/x")


def test_bad_options_are_refused() -> None:
    with pytest.raises(TaskValidationError, match=r"lease_seconds must be a positive .* got 0"):
        PostgresStore("postgresql://db/x", lease_seconds=0)
    with pytest.raises(TaskValidationError, match=r"schema must be a PostgreSQL schema name"):
        PostgresStore("postgresql://db/x", schema="")


async def test_a_url_opens_a_postgres_store(pg_cluster: TemporaryCluster,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("COGNIA_NB_PG_SCHEMA", "from_env")
    store = open_store(pg_cluster.url)
    assert isinstance(store, PostgresStore) and store.schema == "from_env"
    scheduler = Scheduler(store=pg_cluster.url, timezone="UTC").start()
    try:
        scheduler.create_task(name="e", handler="h", trigger={"type": "event", "eventType": "x"})
        scheduler.store.flush()
    finally:
        await scheduler.stop()
        scheduler.close()
    place = Place("postgres", dsn=pg_cluster.dsn, schema="from_env")
    assert place.query("SELECT name FROM tasks") == [("e",)]


def test_an_odd_schema_name_is_quoted(pg_cluster: TemporaryCluster) -> None:
    name = 'we"ird; DROP SCHEMA public --'
    store = PostgresStore(pg_cluster.dsn, schema=name)
    store.open()
    store.close()
    place = Place("postgres", dsn=pg_cluster.dsn, schema=name)
    assert place.query("SELECT value FROM meta WHERE key = 'schema_version'") == [("2",)]
    assert place.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'public'") == [(1,)]


def test_a_newer_or_foreign_schema_is_refused(pg: Place) -> None:
    store = pg.store()
    store.open()
    store.close()
    pg.query("UPDATE meta SET value = '99' WHERE key = 'schema_version' RETURNING 1")
    with pytest.raises(StoreError, match=r"newer cognia_nb \(schema 99"):
        pg.store().open()
    pg.query("DROP TABLE meta")
    with pytest.raises(StoreError, match=r"holds tables but no cognia_nb 'meta' table"):
        pg.store().open()


def _ghost(pg: Place, task: Task, due: float, beat_age: float) -> None:
    """A process that beat ``beat_age`` seconds ago (db clock), with a running execution and
    an unused claim of ``task`` at ``due``."""
    pg.query(
        "INSERT INTO processes (owner, host, pid, started_ts, heartbeat, lease_seconds) "
        "VALUES ('ghost:1:1:x', 'elsewhere', 1, 0, now() - make_interval(secs => ?), 2) "
        "RETURNING 1", (beat_age,),
    )  # fmt: skip
    now = time.time()
    pg.query(
        "INSERT INTO executions (id, task_id, plugin_id, task_name, trigger_kind, status, "
        "attempt, created_ts, scheduled_ts, started_ts, owner) VALUES ('x1', 'other', 'p', "
        "'n', 'schedule', 'running', 1, ?, ?, ?, 'ghost:1:1:x') RETURNING 1", (now, now, now),
    )  # fmt: skip
    pg.query("UPDATE task_state SET claimed_due = ?, claimed_by = 'ghost:1:1:x/1' WHERE id = ? "
             "RETURNING 1", (due, task.id))  # fmt: skip


async def test_a_dead_holder_is_reaped_once_its_lease_runs_out(pg: Place) -> None:
    maker = Scheduler(store=pg.store(), timezone="UTC").start()
    task = maker.create_task(name="t", handler="h", trigger={"type": "interval", "seconds": 60})
    maker.store.flush()
    await maker.stop()
    maker.close()
    _ghost(pg, task, 5000.0, beat_age=1.0)  # within its 2 s lease: alive
    live = pg.store()
    live.open()
    try:
        loaded = {t.id: t for t in live.load_tasks()}[task.id]
        assert live.get_execution("x1").status is ExecutionStatus.RUNNING  # type: ignore[union-attr]
        assert _claim(live, [(loaded, 5000.0)]) == [False]  # the live holder keeps its claim
    finally:
        live.close()
    pg.query("UPDATE processes SET heartbeat = now() - interval '3 seconds' RETURNING 1")
    taker = pg.store()
    taker.open()  # opening reaps, like every heartbeat does
    try:
        ex = taker.get_execution("x1")
        assert ex is not None and ex.status is ExecutionStatus.INTERRUPTED
        assert ex.reason is not None and "ghost:1:1:x" in ex.reason and "lease" in ex.reason
        assert pg.query("SELECT owner FROM processes WHERE owner = 'ghost:1:1:x'") == []
        loaded = {t.id: t for t in taker.load_tasks()}[task.id]
        # no execution of the claimed firing was stored: the claim returned to the pool
        assert _claim(taker, [(loaded, 5000.0)]) == [True]
        assert _claim(taker, [(loaded, 5000.0)]) == [False]  # and is held again
    finally:
        taker.close()


async def test_the_cli_reads_a_postgres_store(pg_cluster: TemporaryCluster, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import os
    import subprocess

    monkeypatch.setenv("COGNIA_NB_PG_SCHEMA", "cli")
    env = {**os.environ, "COGNIA_NB_STORE": pg_cluster.url}
    cli = [sys.executable, "-m", "cognia_nb"]
    missing = subprocess.run([*cli, "tasks"], env=env, capture_output=True, text=True,
                             timeout=60, check=False)  # fmt: skip
    assert missing.returncode != 0 and "no cognia_nb schema 'cli'" in missing.stderr
    scheduler = Scheduler(store=pg_cluster.url, timezone="UTC").start()
    scheduler.create_task(name="nightly", handler="h",
                          trigger={"type": "cron", "expression": "0 3 * * *"})  # fmt: skip
    scheduler.store.flush()
    await scheduler.stop()
    scheduler.close()
    shown = subprocess.run([*cli, "tasks", "--store", pg_cluster.url], env=env,
                           capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "nightly" in shown.stdout
    place = Place("postgres", dsn=pg_cluster.dsn, schema="cli")
    assert place.query("SELECT count(*) FROM processes") == [(0,)]  # the CLI did not register


async def test_the_board_shows_which_process_ran_an_execution(pg: Place) -> None:
    from cognia_nb.jupyter._board_owners import execution_owners, ran_in

    store = pg.store()
    scheduler = Scheduler(store=store, timezone="UTC").start()
    try:
        task = scheduler.create_task(name="m", handler=lambda: None,
                                     trigger={"type": "event", "eventType": "x"})  # fmt: skip
        execution_id = scheduler.run_task_now(task.id)
        deadline = time.monotonic() + 10
        while scheduler.store.get_execution(execution_id) is None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        owners = execution_owners(store, [execution_id])
        assert owners == {execution_id: store.owner}  # type: ignore[attr-defined]
        assert ran_in(owners[execution_id], store.owner) == "this kernel"  # type: ignore[attr-defined]
    finally:
        await scheduler.stop()
        scheduler.close()
