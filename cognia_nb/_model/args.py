"""Task args through a restart: JSON values as they are, a few more types tagged.

A task's ``args`` are stored as JSON. JSON values (``None``, ``bool``, ``int``, finite
``float``, ``str``, lists, dicts with ``str`` keys) are kept exactly. These are kept through a
tagged form ``{"$cognia": TYPE, "v": ...}`` and come back as the same type after a restart:

=================  ===============================================================
``datetime``       ISO 8601 text (an aware one keeps its UTC offset; a zone name such as
                   ``Europe/Berlin`` comes back as that fixed offset, the same instant)
``date``, ``time`` ISO 8601 text
``timedelta``      days, seconds, microseconds
``Decimal``        its text (``Decimal("1.10")`` stays ``Decimal("1.10")``)
``tuple``          its items
``set``,           its items
``frozenset``
``bytes``          base64
``float``          ``nan``, ``inf``, ``-inf`` (JSON has no such numbers)
``dict``           with keys that are not ``str`` (``{1: 10}``), or a ``"$cognia"`` key:
                   its ``[key, value]`` pairs
=================  ===============================================================

Anything else is refused at ``create_task`` with a
:class:`~cognia_nb.TaskValidationError` naming the key and the type.
"""

from __future__ import annotations

import base64
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from .._errors import TaskValidationError

__all__ = ["TAG", "check_args", "decode_args", "encode_args"]

TAG = "$cognia"
_ACCEPTED = ("JSON values (None, bool, int, float, str, list, dict with str keys), datetime, "
             "date, time, timedelta, Decimal, tuple, set, frozenset, bytes")  # fmt: skip
_PLAIN = (str, int, bool, type(None))


def _tag(kind: str, value: Any) -> dict[str, Any]:
    return {TAG: kind, "v": value}


def _scalar(value: Any, path: str) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else _tag("float", repr(value))
    if isinstance(value, datetime):  # (before date: a datetime is a date)
        return _tag("datetime", value.isoformat())
    if isinstance(value, date):
        return _tag("date", value.isoformat())
    if isinstance(value, time):
        return _tag("time", value.isoformat())
    if isinstance(value, timedelta):
        return _tag("timedelta", [value.days, value.seconds, value.microseconds])
    if isinstance(value, Decimal):
        return _tag("decimal", str(value))
    if isinstance(value, bytes | bytearray):
        return _tag("bytes", base64.b64encode(bytes(value)).decode("ascii"))
    raise TaskValidationError(
        f"args{path} is a {type(value).__module__}.{type(value).__qualname__} "
        f"({value!r:.60}), which cannot be kept across a restart; use {_ACCEPTED}",
        field="args",
        value=value,
    )


def encode_args(value: Any, path: str = "", depth: int = 0) -> Any:
    """The JSON-ready form of ``value`` (see the module docstring).

    Raises:
        TaskValidationError: naming the key (``args['since']``) and the type.
    """
    if depth > 100:
        raise TaskValidationError(f"args{path} nests more than 100 levels deep",
                                  field="args", value=value)  # fmt: skip
    if type(value) in _PLAIN:
        return value
    if type(value) is list:
        return [encode_args(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if type(value) is dict:
        if all(type(k) is str for k in value) and TAG not in value:
            return {k: encode_args(v, f"{path}[{k!r}]", depth + 1) for k, v in value.items()}
        return _tag("dict", [[encode_args(k, f"{path} key {k!r}", depth + 1),
                              encode_args(v, f"{path}[{k!r}]", depth + 1)]
                             for k, v in value.items()])  # fmt: skip
    if type(value) is tuple:
        return _tag("tuple", [encode_args(v, f"{path}[{i}]", depth + 1)
                              for i, v in enumerate(value)])  # fmt: skip
    if type(value) in (set, frozenset):
        items = [encode_args(v, f"{path} item {v!r}", depth + 1) for v in value]
        return _tag(type(value).__name__, items)
    return _scalar(value, path)


_DECODE: dict[str, Any] = {
    "float": float,
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "timedelta": lambda v: timedelta(days=v[0], seconds=v[1], microseconds=v[2]),
    "decimal": Decimal,
    "bytes": base64.b64decode,
}


def decode_args(value: Any) -> Any:
    """Inverse of :func:`encode_args` (for stored JSON)."""
    if type(value) is list:
        return [decode_args(v) for v in value]
    if type(value) is not dict:
        return value
    kind = value.get(TAG)
    if kind is None or len(value) != 2 or "v" not in value:
        return {k: decode_args(v) for k, v in value.items()}
    inner = value["v"]
    if kind == "dict":
        return {decode_args(k): decode_args(v) for k, v in inner}
    if kind == "tuple":
        return tuple(decode_args(v) for v in inner)
    if kind in ("set", "frozenset"):
        items = (decode_args(v) for v in inner)
        return set(items) if kind == "set" else frozenset(items)
    return _DECODE[kind](inner)


def check_args(args: Any) -> Any:
    """Refuse args that would not come back the same after a restart (returns ``args``).

    Raises:
        TaskValidationError: naming the key and the type.
    """
    encode_args(args)
    return args
