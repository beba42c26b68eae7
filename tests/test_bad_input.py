"""Bad input that used to slip through (or crash with the wrong error) is refused with a
TaskValidationError naming the field and the value."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

import cognia_nb as cn
from cognia_nb import ManifestError, Scheduler, TaskValidationError, UnknownArgumentError
from cognia_nb._model.spec import read_task_spec
from cognia_nb.plugins import PluginContext, parse_manifest, scheduled
from cognia_nb.testing import FakeClock

EVERY_5 = {"type": "interval", "seconds": 5}
BIG = 10**400


@pytest_asyncio.fixture
async def scheduler() -> AsyncIterator[Scheduler]:
    s = Scheduler(clock=FakeClock(datetime(2024, 6, 3, 8, tzinfo=UTC)), timezone="UTC").start()
    s.register_handler("h", lambda: 1)
    yield s
    await s.stop()
    s.close()


# (keywords, field, message regex); every message names the field and shows the value
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("interval 10**400", {"trigger": {"type": "interval", "seconds": BIG}}, "trigger.seconds",
     r"trigger\.seconds is far too large: an integer of 401 digits"),
    ("timeout 10**400", {"timeout": BIG}, "timeout",
     r"timeout must be from 0 to 31622400 seconds \(366 days\) or None, got an integer of 401"),
    ("timeout 1e308", {"timeout": 1e308}, "timeout", r"timeout must be from 0 .*1e\+308"),
    ("timeout inf", {"timeout": float("inf")}, "timeout", r"timeout must be from 0 .*got inf"),
    ("timeout nan", {"timeout": float("nan")}, "timeout", r"timeout must be a number .*float nan"),
    ("jitter 10**400", {"jitter_seconds": BIG}, "jitter_seconds", r"jitter_seconds must be from 0"),
    ("grace 1e308", {"misfire_grace_seconds": 1e308}, "misfire_grace_seconds",
     r"misfire_grace_seconds must be from 0 to 31622400 seconds .*1e\+308"),
    ("retry delay 1e308", {"retry": {"maxAttempts": 2, "delaySeconds": 1e308}},
     "retry.delaySeconds", r"retry\.delaySeconds must be from 0 .*1e\+308"),
    ("timeout 10**10000", {"timeout": 10**10000}, "timeout", r"an integer of about 10001 digits"),
    ("retry backoff 1e300", {"retry": {"maxAttempts": 3, "backoff": 1e300}}, "retry.backoff",
     r"retry\.backoff must be from 1 to 100 .*1e\+300"),
    ("retry attempts 10**400", {"retry": {"maxAttempts": BIG}}, "retry.maxAttempts",
     r"retry\.maxAttempts is far too large: an integer of 401 digits"),
    ("once runAt 10**400", {"trigger": {"type": "once", "runAt": BIG}}, "trigger.runAt",
     r"trigger\.runAt is far too large"),
    ("tags 0", {"tags": 0}, "tags", r"tags must be a list of strings .*got int 0"),
    ("tags ''", {"tags": ""}, "tags", r"tags must be a list of strings .*got str ''"),
    ("tags {}", {"tags": {}}, "tags", r"tags must be a list of strings .*got dict \{\}"),
    ("description 0", {"description": 0}, "description", r"must be a string, got int 0"),
    ("description []", {"description": []}, "description", r"must be a string, got list \[\]"),
    ("description False", {"description": False}, "description",
     r"description must be a string, got bool False"),
    ("surrogate name", {"name": "job\udc80"}, "name",
     r"name 'job\\udc80' holds a lone surrogate '\\udc80' at index 3"),
    ("surrogate tag", {"tags": ["ok", "\ud800x"]}, "tags[1]", r"tags\[1\] .*lone surrogate"),
    ("surrogate handler", {"handler": "h\ud800"}, "handler", r"handler 'h\\ud800' holds a lone"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "given", "field", "message"), CASES, ids=[c[0] for c in CASES])
async def test_bad_task_input_is_refused_naming_field_and_value(
    scheduler: Scheduler, case: str, given: dict[str, Any], field: str, message: str
) -> None:
    kwargs: dict[str, Any] = {"name": "job", "handler": "h", "trigger": EVERY_5, **given}
    with pytest.raises(TaskValidationError, match=message) as caught:
        scheduler.create_task(**kwargs)
    assert caught.value.field == field
    assert scheduler.list_tasks() == []  # nothing half-done
    with pytest.raises(TaskValidationError, match=message):  # the seed's dict form too
        scheduler.create_task(kwargs)


def test_empty_tags_and_description_are_still_fine() -> None:
    spec = read_task_spec(
        {"name": "a", "handler": "h", "trigger": EVERY_5, "tags": [], "description": ""}, {},
        default_timezone="UTC",
    )  # fmt: skip
    assert spec.tags == () and spec.description == ""


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        ('{"type": "interval", "seconds": ' + "9" * 400 + "}", "scheduledTasks[0].trigger.seconds",
         "an integer of 400 digits"),
        ('{"type": "interval", "seconds": 1e400}', "scheduledTasks[0].trigger.seconds", "got inf"),
    ],
)  # fmt: skip
def test_huge_numbers_in_a_manifest_name_their_json_path(
    text: str, path: str, message: str
) -> None:
    manifest = ('{"name": "x", "capabilities": ["scheduler"], "scheduledTasks": [{"name": "a", '
                f'"handler": "h", "trigger": {text}}}]}}')  # fmt: skip
    with pytest.raises(ManifestError, match=message) as caught:
        parse_manifest(manifest)
    assert caught.value.field == path


def test_a_manifest_task_with_a_huge_timeout_or_false_description_is_refused() -> None:
    base = {"name": "x", "capabilities": ["scheduler"]}
    task = {"name": "a", "handler": "h", "trigger": EVERY_5}
    for extra, path, message in (
        ({"timeout": BIG}, "scheduledTasks[0].timeout", "an integer of 401 digits"),
        ({"description": False}, "scheduledTasks[0].description", "got bool False"),
        ({"tags": ""}, "scheduledTasks[0].tags", "got str ''"),
        ({"name": "\udc80"}, "scheduledTasks[0].name", "lone surrogate"),
    ):
        with pytest.raises(ManifestError, match=message) as caught:
            parse_manifest(json.dumps({**base, "scheduledTasks": [{**task, **extra}]}))
        assert caught.value.field == path


async def test_unknown_keywords_name_the_accepted_ones(scheduler: Scheduler) -> None:
    with pytest.raises(UnknownArgumentError,
                       match=r"create_task\(\) got an unknown keyword argument 'timout' \(did "
                       r"you mean 'timeout'\?\); it accepts: name, handler, trigger, "
                       r"description, .*plugin_id") as caught:  # fmt: skip
        scheduler.create_task(name="a", handler="h", trigger=EVERY_5, timout=3)  # type: ignore[call-arg]
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, TaskValidationError)
    assert caught.value.field == "timout"
    with pytest.raises(UnknownArgumentError, match=r"task\(\) got an unknown keyword argument "
                       r"'intervall' \(did you mean 'interval'\?\)"):  # fmt: skip
        cn.task(intervall=5, scheduler=scheduler)  # type: ignore[call-arg]
    with pytest.raises(UnknownArgumentError, match=r"scheduled\(\) got an unknown keyword "
                       r"argument 'jitter' \(did you mean 'jitter_seconds'\?\)"):  # fmt: skip
        scheduled(interval=5, jitter=3)
    with pytest.raises(UnknownArgumentError, match=r"scheduled\(\) .* 'handler'"):
        scheduled(interval=5, handler="other")

    def activate(context: PluginContext) -> None:
        context.scheduler.register_handler("h", print)
        context.scheduler.create_task(name="a", handler="h", trigger=EVERY_5, retries=3)

    with pytest.raises(UnknownArgumentError, match=r"'retries'.*it accepts"):
        cn.load_plugin(cn.define_plugin(activate), scheduler,
                       {"name": "kw", "capabilities": ["scheduler"]})  # fmt: skip
    assert scheduler.list_tasks() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slice_size": 0}, r"slice_size must be an integer from 1 to 1000000, got 0"),
        ({"slice_size": -1}, r"slice_size must be an integer .*got -1"),
        ({"slice_size": 2.5}, r"slice_size must be an integer .*got 2\.5"),
        ({"slice_size": True}, r"slice_size must be an integer .*got True"),
        ({"cancel_grace": -1}, r"cancel_grace must be a number of seconds from 0 to 3600, got -1"),
        ({"cancel_grace": float("nan")}, r"cancel_grace .*got nan"),
        ({"cancel_grace": float("inf")}, r"cancel_grace .*got inf"),
        ({"cancel_grace": "1"}, r"cancel_grace .*got '1'"),
        ({"sync_workers": 0}, r"sync_workers must be an integer from 1 to 1024 or None, got 0"),
        ({"sync_workers": "3"}, r"sync_workers must be an integer .*got '3'"),
        ({"max_concurrency": 0}, r"max_concurrency must be an integer of at least 1 or None"),
    ],
)
def test_scheduler_options_are_validated(kwargs: dict[str, Any], message: str) -> None:
    field = next(iter(kwargs))
    with pytest.raises(TaskValidationError, match=message) as caught:
        Scheduler(**kwargs)
    assert caught.value.field == field


async def test_good_scheduler_options_still_work() -> None:
    s = Scheduler(slice_size=1, cancel_grace=0, sync_workers=2, max_concurrency=None)
    assert s.cancel_grace == 0.0 and s.max_concurrency is None
    s.close()
