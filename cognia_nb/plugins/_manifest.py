"""Plugin manifests (``plugin.json``): strict JSON, strict validation, JSON-path errors.

Parsing refuses what Python's ``json`` would quietly accept (NaN, Infinity, duplicate keys) and
anything too large or too deeply nested. Validation names the JSON path of the first problem
(``scheduledTasks[2].trigger.expression``) and what is allowed there.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import ManifestError, TaskValidationError
from .._model.spec import read_task_spec

__all__ = [
    "MAX_DEPTH",
    "MAX_MANIFEST_BYTES",
    "RESERVED_PLUGIN_IDS",
    "Manifest",
    "load_manifest",
    "nesting_depth",
    "parse_manifest",
    "reserved_id_problem",
]

MAX_MANIFEST_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_TASKS = 1000
_NAME = re.compile(r"(@[a-z0-9][a-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]{0,213}\Z")
_CAPABILITY = re.compile(r"[a-z][a-z0-9_.:-]{0,63}\Z")
#: Ids the engine uses itself: the user's tasks (``default``, ``notebook``, ``notebook:<path>``)
#: and event sources (``scheduler`` for ``task:*`` chains, ``kernel``, ``user``). A plugin with
#: one of them would see the user's tasks or forge the engine's events, so none may be a plugin's.
RESERVED_PLUGIN_IDS = frozenset({"default", "notebook", "scheduler", "kernel", "user"})
TOP_LEVEL_KEYS = {
    "name", "version", "description", "author", "license", "homepage", "repository",
    "keywords", "main", "capabilities", "scheduledTasks", "engines", "icon", "displayName",
}  # fmt: skip
TASK_KEYS = {
    "name", "description", "handler", "trigger", "defaultEnabled", "retry", "timeout", "tags",
    "args", "overlap", "misfire", "misfireGraceSeconds", "jitterSeconds", "executor",
    "maxConsecutiveFailures", "exclude", "windows",
}  # fmt: skip


@dataclass(slots=True)
class Manifest:
    """A validated manifest.

    Attributes:
        name: the plugin id.
        capabilities: what the plugin may use (``"scheduler"`` for the scheduler API).
        tasks: the ``scheduledTasks``, validated, as ``create_task`` dicts (``defaultEnabled``
            read as ``enabled``; cron triggers without a zone get the scheduler's).
        raw: the manifest as parsed.
    """

    name: str
    version: str | None = None
    description: str = ""
    main: str | None = None
    capabilities: tuple[str, ...] = ()
    tasks: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def has_scheduler(self) -> bool:
        """Whether the manifest grants the scheduler API."""
        return "scheduler" in self.capabilities


def reserved_id_problem(plugin_id: str) -> str | None:
    """Why ``plugin_id`` cannot be a plugin's (None when it can); case does not matter."""
    folded = plugin_id.casefold()
    if folded in RESERVED_PLUGIN_IDS or folded.startswith("notebook:"):
        return (
            f"{plugin_id!r} is reserved for the engine's own tasks and events; reserved: "
            f"{', '.join(sorted(RESERVED_PLUGIN_IDS))} and notebook:<path>; pick another name"
        )
    return None


def _fail(path: str, message: str, value: Any = None) -> ManifestError:
    return ManifestError(f"manifest {path}: {message}", field=path, value=value)


def reject_json_constant(name: str) -> Any:
    """``parse_constant`` for ``json.loads``: NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep lists and dicts nest in ``value`` (iteratively; stops counting past ``limit``)."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > limit:
            return level
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def parse_manifest(source: str | bytes | dict[str, Any], *, origin: str = "manifest") -> Manifest:
    """Parse (if text) and validate a manifest.

    Raises:
        ManifestError: with ``field`` set to the JSON path of the problem.
    """
    if isinstance(source, str | bytes):
        size = len(source.encode() if isinstance(source, str) else source)
        if size > MAX_MANIFEST_BYTES:
            raise _fail("$", f"{origin} is {size} bytes; the limit is {MAX_MANIFEST_BYTES}")
        try:
            data = json.loads(source, parse_constant=reject_json_constant,
                              object_pairs_hook=_no_duplicates)  # fmt: skip
        except (ValueError, RecursionError) as exc:
            raise _fail("$", f"{origin} is not valid JSON: {exc}") from exc
    else:
        data = source
    if nesting_depth(data) > MAX_DEPTH:
        raise _fail("$", f"nesting is deeper than {MAX_DEPTH} levels")
    if not isinstance(data, dict):
        raise _fail("$", f"must be a JSON object, got {type(data).__name__}", data)
    return _validate(data)


def _validate(data: dict[str, Any]) -> Manifest:
    for key, value in data.items():
        if key not in TOP_LEVEL_KEYS:
            raise _fail(key, f"unknown key {key!r}; allowed: {', '.join(sorted(TOP_LEVEL_KEYS))}",
                        value)  # fmt: skip
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail("name", f"must be the plugin id, 1-214 characters of A-Z a-z 0-9 . _ - "
                    f"(such as 'my-plugin'), got {name!r}", name)  # fmt: skip
    reserved = reserved_id_problem(name)
    if reserved:
        raise _fail("name", reserved, name)
    version = data.get("version")
    if version is not None and not (isinstance(version, str) and 0 < len(version) <= 64):
        raise _fail("version", f"must be a version string such as '1.0.0', got {version!r}",
                    version)  # fmt: skip
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail("description", f"must be a string, got {description!r}", description)
    main = data.get("main")
    if main is not None and (
        not isinstance(main, str) or not main.endswith(".py") or main.startswith("/")
        or ".." in Path(main).parts or "\\" in main
    ):  # fmt: skip
        raise _fail("main", "must be a relative path to a .py file inside the plugin directory, "
                    f"got {main!r}", main)  # fmt: skip
    capabilities = data.get("capabilities", [])
    if not isinstance(capabilities, list):
        raise _fail("capabilities", f"must be a list such as [\"scheduler\"], got {capabilities!r}",
                    capabilities)  # fmt: skip
    for i, cap in enumerate(capabilities):
        if not isinstance(cap, str) or not _CAPABILITY.match(cap):
            raise _fail(f"capabilities[{i}]", f"must be a capability name such as 'scheduler', "
                        f"got {cap!r}", cap)  # fmt: skip
    tasks = _tasks(data.get("scheduledTasks", []))
    if tasks and "scheduler" not in capabilities:
        raise _fail("capabilities", "declares scheduledTasks but not the 'scheduler' "
                    "capability; add \"scheduler\" to capabilities", capabilities)  # fmt: skip
    return Manifest(name=name, version=version, description=description, main=main,
                    capabilities=tuple(capabilities), tasks=tasks, raw=data)  # fmt: skip


def _tasks(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise _fail("scheduledTasks", f"must be a list of task objects, got {items!r}", items)
    if len(items) > MAX_TASKS:
        raise _fail("scheduledTasks", f"holds {len(items)} tasks; at most {MAX_TASKS} allowed")
    specs: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"scheduledTasks[{i}]"
        if not isinstance(item, dict):
            raise _fail(where, f"must be an object, got {item!r}", item)
        for key, value in item.items():
            if key not in TASK_KEYS:
                raise _fail(f"{where}.{key}", f"unknown key {key!r}; allowed: "
                            f"{', '.join(sorted(TASK_KEYS))}", value)  # fmt: skip
        entry = dict(item)
        enabled = entry.pop("defaultEnabled", True)
        if not isinstance(enabled, bool):
            raise _fail(f"{where}.defaultEnabled", f"must be true or false, got {enabled!r}",
                        enabled)  # fmt: skip
        entry["enabled"] = enabled
        try:
            spec = read_task_spec(entry, {}, default_timezone="UTC")  # validation only
        except TaskValidationError as exc:
            raise _fail(f"{where}.{exc.field}", str(exc), exc.value) from exc
        if spec.name in seen:
            raise _fail(f"{where}.name", f"duplicate task name {spec.name!r}", spec.name)
        seen.add(spec.name)
        specs.append(entry)
    return specs


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a ``plugin.json``.

    Raises:
        ManifestError: the file cannot be read or is not valid.
    """
    file = Path(path)
    try:
        if file.is_dir():
            file = file / "plugin.json"
        return _read_manifest(file)
    except OSError as exc:
        raise _fail("$", f"cannot read {str(file)!r}: {exc.strerror or exc}") from exc


def _read_manifest(file: Path) -> Manifest:
    """Read at most the size limit, from a regular file only: opened without blocking (a FIFO
    would wait for a writer), checked with ``fstat`` (/dev/zero never ends), read bounded."""
    fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a character device"
                    if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")  # fmt: skip
            raise _fail("$", f"{str(file)!r} is {kind}; a manifest must be a regular file "
                        "(a plugin.json or the plugin's directory)")  # fmt: skip
        data = handle.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise _fail("$", f"{str(file)!r} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail("$", f"{str(file)!r} is not UTF-8 text") from exc
    manifest = parse_manifest(text, origin=str(file))
    manifest.path = file
    return manifest
