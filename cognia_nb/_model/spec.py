"""Reading ``create_task`` input (keywords, or the seed's dict with camelCase keys) strictly.

Everything is validated before anything changes, so a refused task leaves nothing behind.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import TaskValidationError
from ..triggers import MAX_INTERVAL_SECONDS, CronTrigger, EventTrigger, Trigger, parse_trigger
from .args import check_args
from .calendar import Calendar
from .checks import MAX_NUMBER, shown
from .instants import check_trigger_instants
from .policies import read_policies
from .task import DEFAULT_RETRY, Misfire, Overlap, RetryPolicy

__all__ = [
    "MAX_SECONDS",
    "TASK_KEYS",
    "TaskSpec",
    "attempts_from_retries",
    "read_retry",
    "read_task_spec",
    "trigger_from_options",
]

MAX_NAME = 200
MAX_TAGS = 32
#: The longest timeout, misfire grace, jitter or retry delay: 366 days, like intervals.
MAX_SECONDS = MAX_INTERVAL_SECONDS
_CONTROL_CHARS, _SURROGATE_CHARS = r"\x00-\x1f\x7f", r"\ud800-\udfff"
_CONTROL = re.compile(f"[{_CONTROL_CHARS}]")
_SURROGATE = re.compile(f"[{_SURROGATE_CHARS}]")
_NOT_IN_NAMES = re.compile(f"[{_CONTROL_CHARS}{_SURROGATE_CHARS}]")  # both at once
_TAG = re.compile(r"[^\x00-\x1f\x7f,]{1,64}\Z")

# dict key (either spelling) -> keyword
_KEYS = {
    "name": "name",
    "description": "description",
    "handler": "handler",
    "trigger": "trigger",
    "args": "args",
    "retry": "retry",
    "timeout": "timeout",
    "tags": "tags",
    "enabled": "enabled",
    "overlap": "overlap",
    "misfire": "misfire",
    "misfireGraceSeconds": "misfire_grace_seconds",
    "misfire_grace_seconds": "misfire_grace_seconds",
    "jitterSeconds": "jitter_seconds",
    "jitter_seconds": "jitter_seconds",
    "executor": "executor",
    "metadata": "metadata",
    "pluginId": "plugin_id",
    "plugin_id": "plugin_id",
    "maxConsecutiveFailures": "max_consecutive_failures",
    "max_consecutive_failures": "max_consecutive_failures",
    "exclude": "exclude",
    "windows": "windows",
}
#: Every key ``create_task`` takes, in either spelling.
TASK_KEYS = frozenset(_KEYS)
_RETRY_KEYS = {
    "maxAttempts": "max_attempts",
    "max_attempts": "max_attempts",
    "delaySeconds": "delay_seconds",
    "delay_seconds": "delay_seconds",
    "backoff": "backoff",
    "maxDelaySeconds": "max_delay_seconds",
    "max_delay_seconds": "max_delay_seconds",
}


@dataclass(slots=True)
class TaskSpec:
    """Validated ``create_task`` input."""

    name: str
    handler: str
    trigger: Trigger
    handler_fn: Callable[..., Any] | None = None
    description: str = ""
    args: Any = None
    retry: RetryPolicy = DEFAULT_RETRY
    timeout: float | None = 300.0
    tags: tuple[str, ...] = ()
    enabled: bool = True
    overlap: Overlap = Overlap.SKIP
    misfire: Misfire = Misfire.COALESCE
    misfire_grace_seconds: float = 1.0
    jitter_seconds: float = 0.0
    executor: str = "default"
    metadata: dict[str, Any] | None = None
    plugin_id: str | None = None
    max_consecutive_failures: int | None = None
    calendar: Calendar | None = None


def _text(
    value: object,
    field_name: str,
    *,
    max_len: int,
    allow_empty: bool = False,
    surrogates_ok: bool = False,
) -> str:
    if not isinstance(value, str):
        raise TaskValidationError(
            f"{field_name} must be a string, got {type(value).__name__} {value!r}",
            field=field_name,
            value=value,
        )
    if (not value.strip() and not allow_empty) or len(value) > max_len:
        raise TaskValidationError(
            f"{field_name} must be 1-{max_len} characters and not blank, got {shown(value)}",
            field=field_name,
            value=value,
        )
    if not surrogates_ok:
        _no_surrogate(value, field_name)
    return value


def _no_surrogate(value: str, field_name: str) -> None:
    found = _SURROGATE.search(value)
    if found:
        raise TaskValidationError(
            f"{field_name} {shown(value)} holds a lone surrogate {found.group()!r} at index "
            f"{found.start()}, which is not text (it cannot be stored as UTF-8); remove it",
            field=field_name,
            value=value,
        )


def _check_magnitudes(value: object, path: str, depth: int = 0) -> None:
    """Refuse an int too large for a float anywhere in a trigger or retry dict."""
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_NUMBER:
            raise TaskValidationError(
                f"{path} is far too large: {shown(value)} (numbers here stay below 10**15)",
                field=path,
                value=value,
            )
    elif isinstance(value, Mapping) and depth < 4:
        for key, item in value.items():
            _check_magnitudes(item, f"{path}.{key}", depth + 1)


def _name(value: object, field_name: str) -> str:
    if (
        type(value) is str
        and 0 < len(value) <= MAX_NAME
        and not value.isspace()
        and not _NOT_IN_NAMES.search(value)
    ):
        return value  # the usual case, in one pass; the checks below name what is wrong
    text = _text(value, field_name, max_len=MAX_NAME)
    if _CONTROL.search(text):
        raise TaskValidationError(
            f"{field_name} {text!r} contains a control character (newline, tab, ...)",
            field=field_name,
            value=text,
        )
    return text


def _seconds(value: object, field_name: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    none = " or None" if allow_none else ""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and math.isnan(value))
    ):
        raise TaskValidationError(
            f"{field_name} must be a number of seconds{none}, got {type(value).__name__} "
            f"{shown(value)}",
            field=field_name,
            value=value,
        )
    if not 0 <= value <= MAX_SECONDS:  # compares 10**400 and inf without converting them
        raise TaskValidationError(
            f"{field_name} must be from 0 to {MAX_SECONDS} seconds (366 days){none}, "
            f"got {shown(value)}",
            field=field_name,
            value=value,
        )
    return float(value)


def _enum(value: object, kind: type[Overlap] | type[Misfire], field_name: str) -> Any:
    try:
        return kind(value)  # type: ignore[arg-type]
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in kind)
        raise TaskValidationError(
            f"{field_name} must be one of {allowed}, got {value!r}", field=field_name, value=value
        ) from None


def read_retry(value: object) -> RetryPolicy:
    """``None``, a :class:`RetryPolicy` or ``{maxAttempts, delaySeconds, backoff,
    maxDelaySeconds}`` (either spelling) as a RetryPolicy."""
    if value is None:
        return DEFAULT_RETRY
    if isinstance(value, RetryPolicy):
        return value
    if not isinstance(value, Mapping):
        raise TaskValidationError(
            f"retry must be a dict such as {{'maxAttempts': 3, 'delaySeconds': 60}}, got {value!r}",
            field="retry",
            value=value,
        )
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        target = _RETRY_KEYS.get(key) if isinstance(key, str) else None
        if target is None:
            raise TaskValidationError(
                f"retry has unknown key {key!r}; allowed: maxAttempts, delaySeconds, backoff, "
                "maxDelaySeconds",
                field=f"retry.{key}",
                value=item,
            )
        if target in kwargs:
            raise TaskValidationError(
                f"retry gives {target!r} twice (camelCase and snake_case)",
                field=f"retry.{key}",
                value=item,
            )
        kwargs[target] = item
    _check_magnitudes(dict(value), "retry")
    for key in ("delay_seconds", "max_delay_seconds"):
        if kwargs.get(key) is not None:
            _seconds(kwargs[key], f"retry.{_camel_retry[key]}")
    backoff = kwargs.get("backoff")
    if isinstance(backoff, int | float) and not isinstance(backoff, bool) and backoff > 100:
        raise TaskValidationError(
            f"retry.backoff must be from 1 to 100 (the factor between delays), got "
            f"{shown(backoff)}",
            field="retry.backoff",
            value=backoff,
        )
    return RetryPolicy(**kwargs)


_camel_retry = {"delay_seconds": "delaySeconds", "max_delay_seconds": "maxDelaySeconds"}


def _tags(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise TaskValidationError(
            f"tags must be a list of strings such as ['daily', 'reports'], got "
            f"{type(value).__name__} {shown(value)}",
            field="tags",
            value=value,
        )
    items = sorted(value) if isinstance(value, set | frozenset) else list(value)
    if len(items) > MAX_TAGS:
        raise TaskValidationError(
            f"tags holds {len(items)} tags; at most {MAX_TAGS} are allowed",
            field="tags",
            value=value,
        )
    out: list[str] = []
    for i, tag in enumerate(items):
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise TaskValidationError(
                f"tags[{i}] must be 1-64 characters without commas or control characters, "
                f"got {shown(tag)}",
                field=f"tags[{i}]",
                value=tag,
            )
        _no_surrogate(tag, f"tags[{i}]")
        if tag not in out:
            out.append(tag)
    return tuple(out)


def _from_mapping(spec: Mapping[Any, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key, value in spec.items():
        target = _KEYS.get(key) if isinstance(key, str) else None
        if target is None:
            allowed = ", ".join(sorted(k for k in _KEYS if "_" not in k))
            raise TaskValidationError(
                f"task has unknown key {key!r}; allowed keys: {allowed}",
                field=str(key),
                value=value,
            )
        if target in merged:
            raise TaskValidationError(
                f"task gives {target!r} twice (camelCase and snake_case)", field=key, value=value
            )
        merged[target] = value
    for key, value in kwargs.items():
        merged[key] = value
    return merged


# Read from module globals: a class attribute read of an enum member costs a metaclass hook on
# Python 3.11 (see ``_model.task._OPEN``), and every create_task reads one.
_QUEUE = Overlap.QUEUE


def read_task_spec(
    spec: Mapping[Any, Any] | None, kwargs: dict[str, Any], *, default_timezone: str
) -> TaskSpec:
    """Validate ``create_task`` input into a :class:`TaskSpec`.

    Args:
        spec: the seed's dict form (camelCase or snake_case keys), or None.
        kwargs: the keyword form (overrides keys of ``spec``).
        default_timezone: the zone for cron triggers that give none.

    Raises:
        TaskValidationError: naming the field and the value.
    """
    if spec is not None and not isinstance(spec, Mapping):
        raise TaskValidationError(
            f"create_task takes a dict or keywords, got {type(spec).__name__} {spec!r}",
            field="task",
            value=spec,
        )
    # the keywords given (not UNSET), filtered in C: create_task passes all ~20 of them
    given = dict(itertools.compress(kwargs.items(), map(_IS_GIVEN, kwargs.values())))
    values = _from_mapping(spec, given) if spec else given
    for required in ("name", "handler", "trigger"):
        if values.get(required) is None:
            raise TaskValidationError(f"a task needs {required!r}", field=required, value=None)
    name = _name(values["name"], "name")
    handler = values["handler"]
    handler_fn: Callable[..., Any] | None = None
    if callable(handler):
        handler_fn = handler
        handler = getattr(handler, "__name__", None) or name
    handler = _name(handler, "handler")
    trigger = _trigger(values["trigger"], default_timezone)
    out = TaskSpec(name=name, handler=handler, trigger=trigger, handler_fn=handler_fn)
    if isinstance(trigger, EventTrigger):  # an event is data: event tasks queue by default,
        out.overlap = _QUEUE  # so every event is handled, in order
    # Only what was given is read: absent fields keep TaskSpec's (valid) defaults (most
    # creates give only the three required ones).
    if len(values) > 3:
        _read_options(out, values)
    return out


def _read_options(out: TaskSpec, values: dict[str, Any]) -> None:
    """The optional fields of a create_task call, validated into ``out``."""
    get = values.get
    if get("description") is not None:  # 0, [] and False are refused, not skipped
        # a description may name a non-UTF-8 file ("reads \udcff.csv"): the store keeps it
        out.description = _text(values["description"], "description", max_len=10_000,
                                allow_empty=True, surrogates_ok=True)  # fmt: skip
    out.args = check_args(get("args"))
    if get("retry") is not None:
        out.retry = read_retry(values["retry"])
    if "timeout" in values:
        timeout = _seconds(values["timeout"], "timeout", allow_none=True)
        if timeout == 0:
            raise TaskValidationError(
                "timeout must be > 0 seconds (None for no timeout), got 0", field="timeout", value=0
            )
        out.timeout = timeout
    if get("tags") is not None:  # 0, "" and {} are refused, not skipped
        out.tags = _tags(values["tags"])
    if "enabled" in values:
        enabled = values["enabled"]
        if not isinstance(enabled, bool):
            raise TaskValidationError(
                f"enabled must be True or False, got {enabled!r}", field="enabled", value=enabled
            )
        out.enabled = enabled
    if "overlap" in values:
        out.overlap = _enum(values["overlap"], Overlap, "overlap")
    if "misfire" in values:
        out.misfire = _enum(values["misfire"], Misfire, "misfire")
    for key in ("misfire_grace_seconds", "jitter_seconds"):
        if key in values:
            setattr(out, key, _seconds(values[key], key))
    if "executor" in values:
        out.executor = _name(values["executor"], "executor")
    metadata = get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TaskValidationError(
                f"metadata must be a dict, got {metadata!r}", field="metadata", value=metadata
            )
        out.metadata = dict(metadata)
    plugin_id = get("plugin_id")
    out.plugin_id = None if plugin_id is None else _name(plugin_id, "plugin_id")
    out.max_consecutive_failures, out.calendar = read_policies(values)


def _trigger(value: object, default_timezone: str) -> Trigger:
    # Triggers are immutable: one dict given again (100,000 tasks on the same schedule) is
    # parsed (and checked) once. Only plain dicts of hashable values are remembered, under
    # their exact items and value types.
    key = _trigger_key(value, default_timezone)
    if key is not None:
        try:
            known = _PARSED.get(key)
        except TypeError:  # an unhashable value (a list, a dict): parse it every time
            key = None
        else:
            if known is not None:
                return known
    if isinstance(value, Mapping):
        _check_magnitudes(value, "trigger")
    trigger = _parse_trigger(value, default_timezone)
    if key is not None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = trigger
    return trigger


_PARSED: dict[tuple[Any, ...], Trigger] = {}
_PARSED_MAX = 256


def _trigger_key(value: object, default_timezone: str) -> tuple[Any, ...] | None:
    if type(value) is not dict or value.get("type") == "once":  # once: checked against now
        return None
    # The value types are part of the key: 1, 1.0 and True are equal but not the same input.
    return (default_timezone, tuple(value.items()), tuple(map(type, value.values())))


def _parse_trigger(value: object, default_timezone: str) -> Trigger:
    if isinstance(value, Mapping) and value.get("type") == "cron" and "timezone" not in value:
        value = {**value, "timezone": default_timezone}
    # Past "once" times are checked by the scheduler, which knows whether the task exists.
    trigger = check_trigger_instants(parse_trigger(value, allow_past=True))
    if isinstance(trigger, CronTrigger) and not trigger.timezone_explicit:
        trigger = trigger.with_timezone(default_timezone)
    return trigger


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


_UNSET: Any = _Unset()
_IS_GIVEN = functools.partial(operator.is_not, _UNSET)  # a value create_task was given
UNSET: Any = _UNSET


def trigger_from_options(
    where: str,
    *,
    cron: str | None = None,
    interval: float | None = None,
    once_at: str | None = None,
    event: str | None = None,
    event_source: str | None = None,
    timezone: str | None = None,
    allow_event: bool = True,
) -> dict[str, Any]:
    """The trigger dict of a decorator's keyword options (exactly one trigger must be given).

    Raises:
        TaskValidationError: none or several of ``cron``, ``interval``, ``once_at``, ``event``.
    """
    options = [("cron", cron), ("interval", interval), ("once_at", once_at)]
    if allow_event:
        options.append(("event", event))
    given = [name for name, value in options if value is not None]
    if len(given) != 1:
        accepted = ", ".join(f"{name}=" for name, _ in options)
        raise TaskValidationError(
            f"{where} needs exactly one of {accepted}; got " + (", ".join(given) or "none"),
            field="trigger",
            value=given,
        )
    if cron is not None:
        trigger: dict[str, Any] = {"type": "cron", "expression": cron}
        if timezone is not None:
            trigger["timezone"] = timezone
    elif interval is not None:
        trigger = {"type": "interval", "seconds": interval}
    elif once_at is not None:
        trigger = {"type": "once", "runAt": once_at}
    else:
        trigger = {"type": "event", "eventType": event}
        if event_source is not None:
            trigger["eventSource"] = event_source
    return trigger


def attempts_from_retries(retries: object, where: str) -> int:
    """``retry_attempts=N`` (retries after the first attempt) as ``maxAttempts`` (N + 1).

    Raises:
        TaskValidationError: not an integer from 0 to 99.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 99:
        raise TaskValidationError(
            f"{where} retry_attempts must be an integer from 0 to 99 (retries after the first "
            f"attempt), got {retries!r}",
            field="retry_attempts",
            value=retries,
        )
    return retries + 1
