"""The SQLite writer never dies of data: each hostile value in a fresh process on a real file,
rows counted through an independent sqlite3 connection, values read back after a reopen."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cognia_nb import ExecutionStatus
from cognia_nb.stores import SQLiteStore

from .fault_worker import BIG, CASES, RUNS

WORKER = Path(__file__).with_name("fault_worker.py")


def run_case(store: Path, case: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(store), case],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "the SQLite writer stopped" not in proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def count(store: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def reopened(store: Path) -> SQLiteStore:
    s = SQLiteStore(store)
    s.open()
    return s


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_task_and_execution_reaches_the_file(tmp_path: Path, case: str) -> None:
    store = tmp_path / "s.db"
    seen = run_case(store, case)
    assert seen["health"] == "ok"
    assert count(store, "tasks") == 2
    assert count(store, "executions") == 2 * RUNS
    s = reopened(store)
    try:
        stored = {e.id: e for e in s.list_executions()}
        assert sorted(stored) == sorted(seen["ids"])  # type: ignore[arg-type]
        assert [str(stored[i].status) for i in seen["ids"]] == seen["statuses"]  # type: ignore[union-attr]
        spec = CASES[case]
        task = {t.name: t for t in s.load_tasks()}["one"]
        assert task.description == spec.get("description", "")
        for ex in stored.values():
            assert ex.finished
            check_case(case, spec, ex)
    finally:
        s.close()


def check_case(case: str, spec: dict[str, object], ex: object) -> None:
    from cognia_nb import Execution

    assert isinstance(ex, Execution)
    if case == "progress_dict":  # refused at the API: the handler fails, naming the field
        assert ex.status is ExecutionStatus.FAILED
        assert "report_progress message must be a string or None, got dict" in (ex.error or "")
        return
    result = spec["result"]
    if isinstance(result, dict):
        assert ex.status is ExecutionStatus.FAILED
        assert ex.error == result["error"]
    else:
        assert ex.status is ExecutionStatus.SUCCEEDED
        assert ex.output == result
    if "progress" in spec:
        _, message = spec["progress"]  # type: ignore[misc]
        assert ex.progress_message == message
    if case == "big":
        assert ex.output == BIG


def test_a_surrogate_error_is_a_blob_on_disk_and_text_in_history(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    run_case(store, "surrogate_error")
    conn = sqlite3.connect(store)
    kinds = {r[0] for r in conn.execute("SELECT typeof(error) FROM executions")}
    conn.close()
    assert kinds == {"blob"}
    s = reopened(store)
    try:
        columns = s.history_columns()
        assert {e for _, e, _, _, _ in columns["sparse"]} == {"bad \udcff name"}
    finally:
        s.close()


SAFETY_NET = r"""
import sys, time
from cognia_nb import Execution, ExecutionStatus, TriggerKind
from cognia_nb.stores import SQLiteStore
store = SQLiteStore(sys.argv[1])
store.open()
now = time.time()
def ex(i, **kw):
    e = Execution(f"e{i}", "t", "p", kw.pop("task_name", "job"), TriggerKind.MANUAL, now,
                  status=ExecutionStatus.SUCCEEDED, attempt=kw.pop("attempt", 1),
                  created_ts=now, finished_ts=now)
    for k, v in kw.items():
        setattr(e, k, v)
    return e
# a plain row (bound without encoding) that SQLite refuses: the batch is rewritten, encoded
store.save_execution(ex(1, task_name="bad \udcff name"))
store.save_execution(ex(2, attempt=2**70))
store.save_execution(ex(3, error={"not": "text"}, progress_message=b"raw"))
for i in range(4, 54):
    store.save_execution(ex(i))
store.close()
print(store.health)
"""


def test_a_batch_sqlite_refuses_is_rewritten_encoded_and_nothing_is_lost(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    proc = subprocess.run([sys.executable, "-c", SAFETY_NET, str(store)],
                          check=False, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok"
    assert "writing it again, encoded" in proc.stderr
    assert count(store, "executions") == 53
    s = reopened(store)
    try:
        assert s.get_execution("e1").task_name == "bad \udcff name"  # type: ignore[union-attr]
        # too big for SQLite's 64 bits: stored as its text, which the INTEGER column keeps
        # as the nearest REAL
        assert s.get_execution("e2").attempt == float(2**70)  # type: ignore[union-attr]
        assert s.get_execution("e3").error == "{'not': 'text'}"  # type: ignore[union-attr]
    finally:
        s.close()
