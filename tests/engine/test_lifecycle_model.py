"""Random sequences of create/pause/resume/delete/run-now/cancel/emit/stop (Hypothesis).

Invariants: at most one handler of a task runs at a time under skip/queue/replace; every
execution reaches exactly one final status (one end hook); every final status is persisted
(read back from the SQLite file by a fresh scheduler).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cognia_nb import CogniaError, Scheduler, TaskContext
from cognia_nb.testing import FakeClock, settle
from cognia_nb.testing.fixtures import stop_on_fake_clock

NAMES = ("a", "b")
POLICIES = ("skip", "queue", "replace", "allow")
KINDS = ("polite", "stubborn", "swallow", "failing")

creates = st.tuples(st.just("create"), st.sampled_from(NAMES), st.sampled_from(POLICIES),
                    st.sampled_from(KINDS), st.integers(1, 4), st.booleans())  # fmt: skip
ops = st.lists(
    st.one_of(
        creates,
        st.tuples(st.sampled_from(["pause", "resume", "delete", "run", "cancel", "emit"]),
                  st.sampled_from(NAMES)),
        st.tuples(st.just("advance"), st.sampled_from([0.5, 1, 2, 3.5])),
        st.tuples(st.just("stop"), st.sampled_from([0, 1, 5])),
    ),
    max_size=25,
)  # fmt: skip


class World:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.running: dict[str, int] = {}
        self.violations: list[str] = []
        self.policy: dict[str, str] = {}
        self.ends: dict[str, list[str]] = {}

    async def handler(self, ctx: TaskContext) -> str:
        task_id, kind, seconds = ctx.task_id, ctx.args["kind"], ctx.args["seconds"]
        self.running[task_id] = self.running.get(task_id, 0) + 1
        if self.running[task_id] > 1 and self.policy.get(task_id) != "allow":
            self.violations.append(f"{ctx.task_name}: {self.running[task_id]} at once")
        try:
            if kind == "polite":
                await ctx.sleep(seconds)
            elif kind == "stubborn":  # ignores its signal; cancelled after the grace
                await self.clock.sleep(seconds)
            elif kind == "swallow":  # swallows the first cancellation, then ends later
                try:
                    await self.clock.sleep(seconds)
                except asyncio.CancelledError:
                    await self.clock.sleep(seconds)
            else:
                await asyncio.sleep(0)
                raise RuntimeError("failing")
            return "done"
        finally:
            self.running[task_id] -= 1

    def ended(self, ex: Any) -> None:
        self.ends.setdefault(ex.id, []).append(str(ex.status))


async def play(path: Path, steps: list[tuple[Any, ...]]) -> None:
    clock = FakeClock()
    world = World(clock)
    scheduler = Scheduler(store=str(path), clock=clock, timezone="UTC").start()
    scheduler.register_handler("h", world.handler)
    scheduler.on("task_complete", lambda t, ex, r: world.ended(ex))
    scheduler.on("task_error", lambda t, ex, e: world.ended(ex))
    latest: dict[str, str] = {}
    for step in steps:
        op, *rest = step
        with contextlib.suppress(CogniaError):
            if op == "create":
                name, policy, kind, seconds, interval = rest
                trigger = ({"type": "interval", "seconds": 2} if interval
                           else {"type": "event", "eventType": f"ev-{name}"})  # fmt: skip
                task = scheduler.create_task(
                    name=name, handler="h", trigger=trigger, overlap=policy, timeout=3,
                    args={"kind": kind, "seconds": seconds},
                )  # fmt: skip
                world.policy[task.id] = policy
            elif op == "pause":
                scheduler.pause_task(rest[0])
            elif op == "resume":
                scheduler.resume_task(rest[0])
            elif op == "delete":
                scheduler.delete_task(rest[0])
            elif op == "run":
                latest[rest[0]] = scheduler.run_task_now(rest[0])
            elif op == "cancel" and rest[0] in latest:
                scheduler.cancel_execution(latest[rest[0]])
            elif op == "emit":
                scheduler.emit(f"ev-{rest[0]}")
            elif op == "advance":
                await clock.advance(rest[0])
            elif op == "stop":
                await stop_on_fake_clock(scheduler, clock, grace=rest[0])
                assert not scheduler._runner.live  # nothing left but abandoned handlers
                scheduler.start()
        await settle()
        assert not world.violations, world.violations
    await stop_on_fake_clock(scheduler, clock)
    for _ in range(20):  # abandoned handlers end too
        await clock.advance(1)
    assert not world.violations, world.violations
    assert scheduler.abandoned_threads == 0
    everything = scheduler.store.list_executions()
    assert all(ex.finished for ex in everything), [e for e in everything if not e.finished]
    assert {ex.id for ex in everything} == set(world.ends)
    assert all(len(v) == 1 for v in world.ends.values()), world.ends  # one end each
    scheduler.close()
    reread = Scheduler(store=str(path), clock=FakeClock(clock.now()), timezone="UTC")
    stored = {ex.id: str(ex.status) for ex in reread.store.list_executions()}
    assert stored == {k: v[0] for k, v in world.ends.items()}  # every final status persisted
    reread.close()
    await clock.aclose()


def overrun(policy: str, kind: str) -> dict[str, Any]:
    """A handler longer than its interval: the next firing meets it still running."""
    return {
        "first": [("create", "a", policy, kind, 4, True)],
        "steps": [("advance", 2), ("advance", 2), ("run", "a"), ("advance", 3.5), ("stop", 1)],
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=st.lists(creates, min_size=1, max_size=3), steps=ops)
@example(**overrun("replace", "polite"))
@example(**overrun("replace", "swallow"))
@example(**overrun("queue", "stubborn"))
@example(**overrun("skip", "swallow"))
def test_random_sequences_keep_the_invariants(
    first: list[tuple[Any, ...]], steps: list[tuple[Any, ...]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(play(Path(tmp) / "model.db", first + steps))
