"""The one total encoding step between Python values and SQLite cells.

Every value bound for the store passes :func:`cell` (or :func:`cells` for a whole row), which
never raises and returns something SQLite stores and gives back unchanged:

* ``None``, ``float`` and in-range ``int`` are kept (``bool`` becomes ``0``/``1``); an ``int``
  outside SQLite's 64 bits is stored as its decimal text.
* A ``str`` that is valid Unicode (the common case; ASCII is checked in constant time) is kept,
  NUL characters included. A ``str`` holding lone surrogates (what Python makes of a non-UTF-8
  file name) is stored as a BLOB of its UTF-8 bytes with ``surrogatepass``; :func:`text` turns
  it back into the very same ``str`` when read.
* Anything else (a handler that put a dict where text belongs) is stored as ``str(value)``.

JSON columns need nothing of this: :func:`~cognia_nb.stores._codec.dumps` writes ASCII only
(``ensure_ascii``), surrogates as ``\\udcff`` escapes that ``json.loads`` reads back.
"""

from __future__ import annotations

from typing import Any

__all__ = ["cell", "cells", "text", "texts"]

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def cell(value: Any) -> Any:
    """A value SQLite can bind and give back as it was (see the module docstring)."""
    kind = type(value)
    if value is None or kind is float:
        return value
    if kind is str:
        if value.isascii():
            return value
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass")
        return value
    if kind is int:
        return value if _INT_MIN <= value <= _INT_MAX else str(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):  # str subclasses (enums): as plain str
        return cell(str.__str__(value))
    if isinstance(value, int):
        return cell(int(value))
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bytes):
        return value
    try:
        shown = str(value)
    except Exception as exc:  # noqa: BLE001 - a __str__ that raises: still store something
        shown = f"<unprintable {type(value).__name__}: {exc!r}>"
    return cell(shown if type(shown) is str else str.__str__(shown))


def cells(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """:func:`cell` of every value of a row."""
    return tuple(cell(v) for v in row)


def text(value: Any) -> Any:
    """Inverse of :func:`cell` for a text column: a BLOB becomes the ``str`` it was."""
    if type(value) is bytes:
        return value.decode("utf-8", "surrogatepass")
    return value


def texts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """:func:`text` of every value of a row (the row itself when no value needs it)."""
    for v in row:
        if type(v) is bytes:
            return tuple(text(v) for v in row)
    return row
