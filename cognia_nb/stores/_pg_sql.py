"""The PostgreSQL store's statements, built from the column lists of ``_codec.py`` (a column
added there and in ``_pg_schema.py`` needs no edit here, except its type in
:data:`STATE_TYPES` or :data:`TASK_TYPES` when it is not text). All values are bound (``%s``).

The statements for many rows (``*_BULK``, :data:`CLAIM`) take them as one parameter, a JSON
array of row arrays (:func:`rows_json`), and cast each cell from its text in the server: psycopg
dumps a Python list to an array parameter in Python (a regular expression per element), which
cost 5 µs per row of a claim and more of an execution; ``json.dumps`` is C, and a JSON number's
text is the float's shortest repr, which ``float8`` reads back exactly."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ._codec import EXECUTION_COLUMNS, PLAIN_EXECUTION_COLUMNS, STATE_COLUMNS, TASK_COLUMNS

__all__ = [
    "CLAIM",
    "COUNT_CHANGE",
    "DELETE_STATES",
    "DELETE_TASKS",
    "EXECUTION_BULK",
    "EXECUTION_TYPES",
    "EXECUTION_UPSERT",
    "PLAIN_EXECUTION_BULK",
    "HEARTBEAT",
    "LOCK_STATES",
    "PLAIN_EXECUTION_UPSERT",
    "REAP",
    "RELEASE",
    "STATE_TYPES",
    "STATE_UPDATE",
    "STATE_UPDATE_BULK",
    "STATE_BULK",
    "STATE_UPSERT",
    "TASK_BULK",
    "TASK_TYPES",
    "TASK_UPSERT",
    "VERSIONS",
    "rows_json",
]

#: The PostgreSQL array type of each task_state column (for the claim's ``unnest``).
STATE_TYPES = {"id": "text", "status": "text", "next_run_ts": "float8", "last_run_ts": "float8",
               "skipped_count": "int8", "missed_count": "int8", "run_count": "int8",
               "excluded_count": "int8", "consecutive_failures": "int8", "pause_reason": "text",
               "last_excluded": "text"}  # fmt: skip


#: The PostgreSQL type of each execution column (for the bulk upserts' ``unnest``).
EXECUTION_TYPES = {
    **dict.fromkeys(EXECUTION_COLUMNS, "text"),
    "attempt": "int4", "missed": "int8", "skipped": "int8",
    **dict.fromkeys(("created_ts", "scheduled_ts", "started_ts", "finished_ts", "progress"),
                    "float8"),
}  # fmt: skip


#: The PostgreSQL type of each task column that is not text.
TASK_TYPES = {
    **dict.fromkeys(TASK_COLUMNS, "text"), "max_consecutive_failures": "int4",
    **dict.fromkeys(("timeout", "misfire_grace", "jitter", "created_ts", "updated_ts"), "float8"),
}  # fmt: skip

#: Rows as the one parameter of a bulk statement: a compact JSON array of arrays (ASCII only:
#: a lone surrogate is an escape that the server refuses, so its batch goes the careful way).
rows_json: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":")).encode


def _from_json(columns: tuple[str, ...], types: dict[str, str]) -> str:
    """A ``SELECT`` of the rows of :func:`rows_json` (bound as ``%s``), in their order, the
    columns named and typed."""
    cells = ", ".join(
        f"e->>{i} AS {c}" if types[c] == "text" else f"(e->>{i})::{types[c]} AS {c}"
        for i, c in enumerate(columns)
    )
    return f"SELECT {cells} FROM jsonb_array_elements(%s::jsonb) AS e"


def _bulk_upsert(table: str, columns: tuple[str, ...], types: dict[str, str]) -> str:
    """One statement for many rows (:func:`rows_json`)."""
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    return (f"INSERT INTO {table} ({names}) {_from_json(columns, types)} "
            f"ON CONFLICT (id) DO UPDATE SET {updates}")  # fmt: skip


def _upsert(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    marks = ", ".join("%s" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    return (f"INSERT INTO {table} ({names}) VALUES ({marks}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}")  # fmt: skip


TASK_UPSERT = _upsert("tasks", TASK_COLUMNS)
TASK_BULK = _bulk_upsert("tasks", TASK_COLUMNS, TASK_TYPES)
EXECUTION_UPSERT = _upsert("executions", EXECUTION_COLUMNS)
PLAIN_EXECUTION_UPSERT = _upsert("executions", PLAIN_EXECUTION_COLUMNS)
EXECUTION_BULK = _bulk_upsert("executions", EXECUTION_COLUMNS, EXECUTION_TYPES)
PLAIN_EXECUTION_BULK = _bulk_upsert("executions", PLAIN_EXECUTION_COLUMNS, EXECUTION_TYPES)

_STATE = STATE_COLUMNS[1:]
#: A whole task's state (``state_row``): a deliberate change, the version goes up.
STATE_UPSERT = (
    f"INSERT INTO task_state ({', '.join(STATE_COLUMNS)}, version) "
    f"VALUES ({', '.join('%s' for _ in STATE_COLUMNS)}, 1) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _STATE)
    + ", version = task_state.version + 1"
)
#: :data:`STATE_UPSERT` for many rows in one statement (:func:`rows_json` of ``state_row``\ s).
STATE_BULK = (
    f"INSERT INTO task_state ({', '.join(STATE_COLUMNS)}, version) SELECT v.*, 1 FROM "
    f"({_from_json(STATE_COLUMNS, STATE_TYPES)}) AS v ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _STATE)
    + ", version = task_state.version + 1"
)
#: What firing changed, over the version it was made from: ``(*state_row[1:], id, version)``.
STATE_UPDATE = (
    "UPDATE task_state SET " + ", ".join(f"{c} = %s" for c in _STATE)
    + " WHERE id = %s AND version = %s"
)  # fmt: skip
_STATE_TYPES_V = {**STATE_TYPES, "version": "int8"}
#: :data:`STATE_UPDATE` for many rows in one statement: :func:`rows_json` of
#: ``(*state_row, version)``.
STATE_UPDATE_BULK = (
    "UPDATE task_state AS s SET " + ", ".join(f"{c} = v.{c}" for c in _STATE)
    + f" FROM ({_from_json((*STATE_COLUMNS, 'version'), _STATE_TYPES_V)}) AS v "
    "WHERE s.id = v.id AND s.version = v.version"
)  # fmt: skip
#: Task ids bound as :func:`rows_json` of a list of ids (an array parameter is dumped in Python).
_IDS = "ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))"
VERSIONS = f"SELECT id, version FROM task_state WHERE id = ANY({_IDS})"
#: Taken first in every commit, in id order: two writers never wait on each other in a cycle.
#: (One row back, the count, not one per task.)
LOCK_STATES = (
    f"SELECT count(*) FROM (SELECT 1 FROM task_state WHERE id = ANY({_IDS}) ORDER BY id "
    "FOR UPDATE) AS locked"
)
DELETE_TASKS = f"DELETE FROM tasks WHERE id = ANY({_IDS})"
DELETE_STATES = f"DELETE FROM task_state WHERE id = ANY({_IDS})"

# Claims: one statement for a whole batch (the claim's token, then :func:`rows_json` of
# ``(*state_row, due, version)``, then how many rows that is). The answer is one row: NULL
# when every row was won (nobody else claims: the common case), else the JSON array of the ids
# won. A row is won when its due time is later than the task's last claimed one, or is that
# very one and was released because its holder's lease ran out before it stored an execution of
# it. Of two processes claiming the same row, the second waits for the first's commit and then
# finds the condition false (PostgreSQL re-checks it on the row's new version).
_CLAIM_COLUMNS = (*STATE_COLUMNS, "due", "version")
_CLAIM_TYPES = {**STATE_TYPES, "due": "float8", "version": "int8"}
CLAIM = (
    "WITH won AS (UPDATE task_state AS s SET claimed_due = v.due, claimed_by = %s, "
    "released = false, "
    + ", ".join(f"{c} = v.{c}" for c in _STATE)
    + f" FROM ({_from_json(_CLAIM_COLUMNS, _CLAIM_TYPES)}) AS v "
    "WHERE s.id = v.id AND s.version = v.version AND (s.claimed_due IS NULL "
    "OR s.claimed_due < v.due OR (s.claimed_due = v.due AND s.released)) RETURNING s.id) "
    "SELECT CASE WHEN count(*) = %s THEN NULL ELSE coalesce(json_agg(id), '[]')::text END "
    "FROM won"
)

#: Bumps the change counter (in a commit that changed tasks) and tells the listeners.
COUNT_CHANGE = (
    "INSERT INTO meta (key, value) VALUES ('tasks_changed', '1') ON CONFLICT (key) "
    "DO UPDATE SET value = (meta.value::bigint + 1)::text RETURNING pg_notify(%s, %s)"
)
#: This process lives (database clock).
HEARTBEAT = ("UPDATE processes SET heartbeat = now(), heartbeat_ts = extract(epoch FROM now()) "
             "WHERE owner = %s")  # fmt: skip
#: Processes whose lease ran out (database clock) are removed; their unfinished executions
#: become interrupted. Returns the owners removed.
REAP = """
WITH dead AS (
    DELETE FROM processes
    WHERE heartbeat < now() - make_interval(secs => lease_seconds) AND owner <> %s
    RETURNING owner
), ended AS (
    UPDATE executions AS e SET status = 'interrupted',
        finished_ts = extract(epoch FROM now()),
        reason = 'the process that ran it (' || e.owner || ') stopped renewing its lease '
            || 'before it finished'
    FROM dead WHERE e.owner = dead.owner AND e.status IN ('pending', 'running')
    RETURNING e.id
)
SELECT owner, (SELECT count(*) FROM ended) FROM dead
"""
#: Claims of dead holders return to the pool when no execution of the claimed firing was
#: stored (the holder died between the claim and the run).
RELEASE = """
UPDATE task_state AS s SET released = true, claimed_by = NULL
WHERE split_part(s.claimed_by, '/', 1) = ANY(%s) AND NOT EXISTS (
    SELECT 1 FROM executions AS e WHERE e.task_id = s.id AND e.scheduled_ts = s.claimed_due)
"""
