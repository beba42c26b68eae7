"""What plugin authors write: ``Plugin`` subclasses with ``@scheduled`` methods, or
``define_plugin(activate)``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .._errors import TaskValidationError
from .._model.checks import unknown_argument
from .._model.spec import TASK_KEYS, attempts_from_retries, trigger_from_options

if TYPE_CHECKING:
    from ._context import PluginContext

__all__ = ["HOOK_NAMES", "DefinedPlugin", "Plugin", "ScheduledSpec", "define_plugin", "scheduled"]

F = TypeVar("F", bound=Callable[..., Any])

#: The seed's hooks, in Python spelling (camelCase keys are accepted in hook dicts too).
HOOK_NAMES = (
    "on_scheduled_task_start",  # (task_id, execution_id)
    "on_scheduled_task_complete",  # (task_id, execution_id, result)
    "on_scheduled_task_error",  # (task_id, execution_id, error)
    "on_scheduled_task_create",  # (task)
    "on_scheduled_task_pause",  # (task_id)
    "on_scheduled_task_resume",  # (task_id)
    "on_unload",  # ()
)


@dataclass(frozen=True, slots=True)
class ScheduledSpec:
    """The parameters ``@scheduled`` attached to a method (nothing is registered by it)."""

    cron: str | None = None
    interval: float | None = None
    once_at: str | None = None
    name: str | None = None
    description: str = ""
    enabled: bool = True
    retry_attempts: int = 0
    retry_delay: float = 60
    timeout: float | None = 300
    tags: tuple[str, ...] = ()
    timezone: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def trigger(self) -> dict[str, Any]:
        """The trigger dict of the one of ``cron``, ``interval``, ``once_at`` that is set."""
        return trigger_from_options("@scheduled", cron=self.cron, interval=self.interval,
                                    once_at=self.once_at, timezone=self.timezone,
                                    allow_event=False)  # fmt: skip

    def task_dict(self, handler: str, fallback_name: str, fallback_doc: str) -> dict[str, Any]:
        """The ``create_task`` dict for the decorated method."""
        max_attempts = attempts_from_retries(self.retry_attempts, "@scheduled")
        return {
            "name": self.name or fallback_name,
            "description": self.description or fallback_doc,
            "handler": handler,
            "trigger": self.trigger(),
            "enabled": self.enabled,
            "retry": {"maxAttempts": max_attempts, "delaySeconds": self.retry_delay},
            "timeout": self.timeout,
            "tags": list(self.tags),
            **self.extra,
        }


def scheduled(
    *,
    cron: str | None = None,
    interval: float | None = None,
    once_at: str | None = None,
    name: str | None = None,
    description: str = "",
    enabled: bool = True,
    retry_attempts: int = 0,
    retry_delay: float = 60,
    timeout: float | None = 300,
    tags: Iterable[str] = (),
    timezone: str | None = None,
    **extra: Any,
) -> Callable[[F], F]:
    """Mark a :class:`Plugin` method as a scheduled task (the seed's decorator).

    Exactly one of ``cron``, ``interval`` (seconds) and ``once_at`` (ISO 8601 with an offset).
    ``retry_attempts=N`` means N retries after the first attempt; ``retry_delay`` seconds
    between them; ``timeout`` seconds per attempt. Extra keywords (``overlap``, ``misfire``,
    ``jitter_seconds``, ``args``, ...) pass through to ``create_task``. The decorator only
    attaches these parameters; loading the plugin registers the handler and creates the task.

    Raises:
        TaskValidationError: for no trigger or more than one; ``UnknownArgumentError`` (also a
            ``TypeError``) for a keyword ``create_task`` does not take either.
    """
    trigger_from_options(
        "@scheduled", cron=cron, interval=interval, once_at=once_at, allow_event=False
    )  # refuses none or several, at decoration time
    own = ("cron", "interval", "once_at", "name", "description", "enabled", "retry_attempts",
           "retry_delay", "timeout", "tags", "timezone")  # fmt: skip
    for key in extra:
        if key not in TASK_KEYS or key in ("trigger", "handler", "plugin_id", "pluginId"):
            passed = sorted(k for k in TASK_KEYS if "_" in k or k.islower())
            accepted = own + tuple(k for k in passed if k not in own and k not in
                                   ("trigger", "handler", "plugin_id", "name"))  # fmt: skip
            raise unknown_argument("scheduled", key, accepted)
    spec = ScheduledSpec(cron=cron, interval=interval, once_at=once_at, name=name,
                         description=description, enabled=enabled,
                         retry_attempts=retry_attempts, retry_delay=retry_delay,
                         timeout=timeout, tags=tuple(tags), timezone=timezone,
                         extra=dict(extra))  # fmt: skip

    def attach(fn: F) -> F:
        fn.__cognia_scheduled__ = spec  # type: ignore[attr-defined]
        return fn

    return attach


class Plugin:
    """Base class of class-based plugins.

    Methods decorated with :func:`scheduled` become handlers and tasks when the plugin is
    loaded (:func:`cognia_nb.load_plugin`). Optional methods: ``on_load(context)``,
    ``on_unload()`` and the seed's hooks (``on_scheduled_task_start(task_id, execution_id)``,
    ...). ``self.logger`` and ``self.context`` are set before ``on_load``.

    A class attribute ``manifest`` (a dict) may hold the plugin's manifest.
    """

    manifest: ClassVar[dict[str, Any] | None] = None
    logger: logging.Logger
    context: PluginContext

    def scheduled_methods(self) -> list[tuple[str, Callable[..., Any], ScheduledSpec]]:
        """``(method name, bound method, spec)`` of every ``@scheduled`` method."""
        found = []
        for attr in dir(type(self)):
            raw = getattr(type(self), attr, None)
            spec = getattr(raw, "__cognia_scheduled__", None)
            if isinstance(spec, ScheduledSpec):
                found.append((attr, getattr(self, attr), spec))
        return found


class DefinedPlugin:
    """What :func:`define_plugin` returns: an ``activate(context) -> hooks`` function."""

    def __init__(self, activate: Callable[[PluginContext], Any], name: str | None = None) -> None:
        if not callable(activate):
            raise TaskValidationError(
                f"define_plugin needs an activate(context) function, got {activate!r}",
                field="activate",
                value=activate,
            )
        self.activate = activate
        self.name = name or getattr(activate, "__module__", None) or "plugin"

    def __repr__(self) -> str:
        return f"<DefinedPlugin {self.name}>"


def define_plugin(
    activate: Callable[[PluginContext], Any] | Mapping[str, Any] | Any,
) -> DefinedPlugin:
    """The seed's ``definePlugin``: ``activate(context)`` registers handlers, creates tasks and
    returns hooks (a dict or object with ``on_unload`` and the ``on_scheduled_task_*`` hooks;
    camelCase names work too).

    Accepts the function itself, a dict ``{"activate": fn}`` or an object with ``activate``.
    """
    if isinstance(activate, Mapping):
        fn = activate.get("activate")
    elif callable(activate):
        fn = activate
    else:
        fn = getattr(activate, "activate", None)
    return DefinedPlugin(fn)  # type: ignore[arg-type]
