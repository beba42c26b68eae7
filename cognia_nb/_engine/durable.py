"""When a finished execution is acknowledged (``wait_for`` returns, hooks and events fire).

* ``durability="group"`` (the default): at once. The execution's row reaches the file with
  the writer's next group commit, at most ``commit_window`` (50 ms) later; a process killed in
  that window loses the rows of executions acknowledged in it (they are not in the file).
* ``durability="strict"``: only once the row is committed (and the SQLite writer syncs with
  ``synchronous=FULL``). A killed process loses nothing that was acknowledged. Each finish
  asks the writer for a commit right away, so many executions cost more commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .._errors import TaskValidationError

if TYPE_CHECKING:
    from ..stores import Store

__all__ = ["DURABILITY", "acknowledge", "check_durability"]

DURABILITY = ("group", "strict")

_T = TypeVar("_T")


def check_durability(value: object) -> bool:
    """True for ``"strict"``.

    Raises:
        TaskValidationError: for anything but ``"group"`` or ``"strict"``.
    """
    if value not in DURABILITY:
        raise TaskValidationError(
            f"durability must be 'group' (acknowledge at once, committed within the group-commit "
            f"window) or 'strict' (acknowledge once committed), got {value!r}",
            field="durability",
            value=value,
        )
    return value == "strict"


def acknowledge(
    store: Store,
    strict: bool,
    loop: asyncio.AbstractEventLoop | None,
    ack: Callable[[_T], None],
    arg: _T,
) -> None:
    """Run ``ack(arg)`` now, or (strict, a store that writes later) on ``loop`` once
    committed."""
    if not strict or store.live_objects or loop is None:
        ack(arg)
        return

    def committed() -> None:  # called from the store's writer thread
        if not loop.is_closed():
            loop.call_soon_threadsafe(ack, arg)

    store.when_committed(committed)
