"""Task args keep their types across a restart (a real SQLite file, reopened by a new
scheduler), or are refused at creation naming the key and the type."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cognia_nb import Scheduler, TaskContext, TaskValidationError
from cognia_nb._model.args import TAG, decode_args, encode_args

EVENT = {"type": "event", "eventType": "never"}
ARGS: dict[str, Any] = {
    "since": datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
    "local": datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))),
    "naive": datetime(2024, 5, 1, 12, 30, 15, 250),
    "day": date(2024, 5, 1),
    "at": time(7, 15),
    "wait": timedelta(days=1, seconds=5, microseconds=7),
    "ids": {1, 3},
    "frozen": frozenset({"a"}),
    "limits": {1: 10, (2, "x"): None},
    "price": Decimal("1.10"),
    "pair": (1, (2, 3)),
    "blob": b"\x00\xff",
    "odd": [float("inf"), float("-inf")],
    "tagged": {TAG: "datetime", "v": "not one"},
    "json": {"a": [1, 2.5, "x", None, True], "b": {"c": "d"}},
}


async def test_args_come_back_with_the_same_types_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = Scheduler(store=str(path)).start()
    first.create_task(name="job", handler="job", trigger=EVENT, args=ARGS)
    await first.stop()
    first.close()

    seen: list[Any] = []

    def job(args: Any, ctx: TaskContext) -> None:
        seen.append(args)

    second = Scheduler(store=str(path)).start()
    try:
        second.register_handler("job", job)
        [task] = second.list_tasks()
        await second.wait_for(second.run_task_now(task.id), timeout=10)
    finally:
        await second.stop()
        second.close()
    [args] = seen
    assert args == ARGS
    assert {k: type(v) for k, v in args.items()} == {k: type(v) for k, v in ARGS.items()}
    assert type(args["pair"][1]) is tuple
    assert str(args["price"]) == "1.10"
    assert args["local"].utcoffset() == timedelta(hours=2)
    assert args["naive"].tzinfo is None
    assert str(args["odd"]) == "[inf, -inf]"


def test_nan_round_trips_as_nan() -> None:
    [value] = decode_args(encode_args([float("nan")]))
    assert math.isnan(value)


class Opaque:
    pass


@pytest.mark.parametrize(
    ("args", "where"),
    [
        ({"conn": Opaque()}, r"args\['conn'\] is a .*Opaque"),
        ({"outer": [1, {"fn": print}]}, r"args\['outer'\]\[1\]\['fn'\] is a builtins"),
        ({Opaque(): 1}, r"args key <.*Opaque object.* is a .*Opaque"),
    ],
)
async def test_args_that_cannot_come_back_are_refused_at_creation(
    fake_scheduler: Scheduler, args: Any, where: str
) -> None:
    with pytest.raises(TaskValidationError, match=where + r".*cannot be kept across a restart"):
        fake_scheduler.create_task(name="bad", handler="h", trigger=EVENT, args=args)
    assert fake_scheduler.list_tasks() == []
