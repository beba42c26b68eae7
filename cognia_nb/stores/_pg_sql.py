"""The PostgreSQL store's statements, built from the column lists of ``_codec.py`` (a column
added there and in ``_pg_schema.py`` needs no edit here, except its type in
:data:`STATE_TYPES` when it is a state column). All values are bound (``%s``)."""

from __future__ import annotations

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
    "STATE_UPSERT",
    "TASK_UPSERT",
    "VERSIONS",
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


def _bulk_upsert(table: str, columns: tuple[str, ...], types: dict[str, str]) -> str:
    """One statement for many rows: one array per column, ``unnest`` into rows."""
    names = ", ".join(columns)
    arrays = ", ".join(f"%s::{types[c]}[]" for c in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    return (f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}")  # fmt: skip


def _upsert(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    marks = ", ".join("%s" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    return (f"INSERT INTO {table} ({names}) VALUES ({marks}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}")  # fmt: skip


TASK_UPSERT = _upsert("tasks", TASK_COLUMNS)
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
#: What firing changed, over the version it was made from: ``(*state_row[1:], id, version)``.
STATE_UPDATE = (
    "UPDATE task_state SET " + ", ".join(f"{c} = %s" for c in _STATE)
    + " WHERE id = %s AND version = %s"
)  # fmt: skip
_STATE_TYPES_V = {**STATE_TYPES, "version": "int8"}
#: :data:`STATE_UPDATE` for many rows in one statement: arrays of ``(*state_row, version)``.
STATE_UPDATE_BULK = (
    "UPDATE task_state AS s SET " + ", ".join(f"{c} = v.{c}" for c in _STATE)
    + " FROM unnest(" + ", ".join(f"%s::{_STATE_TYPES_V[c]}[]" for c in (*STATE_COLUMNS, "version"))
    + f") AS v({', '.join(STATE_COLUMNS)}, version) WHERE s.id = v.id AND s.version = v.version"
)  # fmt: skip
VERSIONS = "SELECT id, version FROM task_state WHERE id = ANY(%s)"
#: Taken first in every commit, in id order: two writers never wait on each other in a cycle.
LOCK_STATES = "SELECT id FROM task_state WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
DELETE_TASKS = "DELETE FROM tasks WHERE id = ANY(%s)"
DELETE_STATES = "DELETE FROM task_state WHERE id = ANY(%s)"

# Claims: one statement for a whole batch (one array per column, ``unnest`` into rows). A row
# is won when its due time is later than the task's last claimed one, or is that very one and
# was released because its holder's lease ran out before it stored an execution of it. Of two
# processes claiming the same row, the second waits for the first's commit and then finds the
# condition false (PostgreSQL re-checks it on the row's new version).
_CLAIM_COLUMNS = (*STATE_COLUMNS, "due", "version")
_CLAIM_TYPES = {**STATE_TYPES, "due": "float8", "version": "int8"}
CLAIM = (
    "UPDATE task_state AS s SET claimed_due = v.due, claimed_by = %s, released = false, "
    + ", ".join(f"{c} = v.{c}" for c in _STATE)
    + " FROM unnest("
    + ", ".join(f"%s::{_CLAIM_TYPES[c]}[]" for c in _CLAIM_COLUMNS)
    + f") AS v({', '.join(_CLAIM_COLUMNS)}) "
    "WHERE s.id = v.id AND s.version = v.version AND (s.claimed_due IS NULL "
    "OR s.claimed_due < v.due OR (s.claimed_due = v.due AND s.released)) RETURNING s.id"
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
