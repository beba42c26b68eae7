"""Property: arbitrary text (surrogates, NUL, long strings) and arbitrary JSON-like values in
every stored field come back equal after the SQLite store is closed and reopened."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cognia_nb import Execution, ExecutionStatus, Task, TriggerKind
from cognia_nb._model.task import LogEntry
from cognia_nb.stores import SQLiteStore
from cognia_nb.triggers import EventTrigger

# every code point, lone surrogates and NUL included
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
BIG = "é" * 1_000_000 + "\udcff\x00"
NOW = time.time()  # (retention prunes executions older than 30 days)


def roundtrip(task: Task, execution: Execution) -> tuple[Task, Execution]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "p.db"
        store = SQLiteStore(path)
        store.open()
        store.save_task(task)
        store.save_execution(execution)
        store.close()
        assert store.health.ok, store.health
        again = SQLiteStore(path)
        again.open()
        try:
            [loaded] = again.load_tasks()
            got = again.get_execution(execution.id)
        finally:
            again.close()
    assert got is not None, "the execution was not stored"
    return loaded, got


FIELDS = st.fixed_dictionaries({
    "description": TEXT, "tags": st.lists(TEXT, max_size=3), "args": JSON, "message": TEXT,
    "error": TEXT, "output": JSON, "metrics": st.dictionaries(TEXT, JSON, max_size=3),
    "log_message": TEXT, "log_fields": st.dictionaries(TEXT, JSON, max_size=3),
    "traceback": TEXT, "pause_reason": TEXT, "last_excluded": TEXT,
})  # fmt: skip
HUGE = {"description": BIG, "tags": [BIG], "args": {BIG: BIG}, "message": BIG, "error": BIG,
        "output": BIG, "metrics": {"m": BIG}, "log_message": BIG, "log_fields": {"f": BIG},
        "traceback": BIG, "pause_reason": BIG, "last_excluded": BIG}  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(v=FIELDS)
@example(v=HUGE)
def test_every_stored_field_comes_back_equal(v: dict[str, Any]) -> None:
    description, tags, args = v["description"], v["tags"], v["args"]
    message, error, traceback, output = v["message"], v["error"], v["traceback"], v["output"]
    metrics, log_message, log_fields = v["metrics"], v["log_message"], v["log_fields"]
    task = Task("t1", "p", "job", "handler", EventTrigger("go"), description=description,
                args=args, tags=tuple(tags), created_ts=NOW, updated_ts=NOW,
                pause_reason=v["pause_reason"], last_excluded=v["last_excluded"])  # fmt: skip
    ex = Execution("e1", "t1", "p", "job", TriggerKind.MANUAL, NOW,
                   status=ExecutionStatus.FAILED, attempt=1, created_ts=NOW,
                   started_ts=NOW, finished_ts=NOW + 1, progress=50.0,
                   progress_message=message, output=output, error=error,
                   traceback=traceback)  # fmt: skip
    ex.metrics = metrics
    ex.logs = [LogEntry(NOW, "info", log_message, log_fields, 1)]
    loaded, got = roundtrip(task, ex)
    # (compared as booleans: a failing 1 MB example would print the megabyte)
    assert loaded.description == description, "description"
    assert loaded.tags == tuple(tags), "tags"
    assert loaded.args == args, "args"
    assert loaded.pause_reason == v["pause_reason"], "pause reason"
    assert loaded.last_excluded == v["last_excluded"], "last excluded"
    assert got.progress_message == message, "progress message"
    assert got.error == error, "error"
    assert got.traceback == traceback, "traceback"
    assert got.output == output, "output"
    assert got.metrics == metrics, "metrics"
    [entry] = got.logs
    assert entry.message == log_message, "log message"
    assert entry.fields == log_fields, "log fields"
