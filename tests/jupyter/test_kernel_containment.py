"""A ``%%cognia_task`` body raising SystemExit or KeyboardInterrupt does not kill the kernel
(#20): it is a failed execution naming the exception. A real kernel, through jupyter_client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .kernel_helpers import Kernel
from .test_kernel import kernel_env

pytestmark = pytest.mark.timeout(180)

BODIES = {
    "sync_exit": "raise SystemExit(0)",
    "sync_interrupt": "raise KeyboardInterrupt",
    "async_exit": "await asyncio.sleep(0)\nraise SystemExit(3)",
    "async_interrupt": "await asyncio.sleep(0)\nraise KeyboardInterrupt",
}
ERRORS = {
    "sync_exit": "SystemExit: 0",
    "sync_interrupt": "KeyboardInterrupt",
    "async_exit": "SystemExit: 3",
    "async_interrupt": "KeyboardInterrupt",
}


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    store: Path = tmp_path_factory.mktemp("contain") / "c.db"
    k = Kernel(kernel_env(store))
    k.check("%load_ext cognia_nb\nimport cognia_nb, asyncio\nsched = cognia_nb.get_scheduler()")
    yield k
    k.shutdown()


def test_handlers_raising_exit_or_interrupt_leave_the_kernel_alive(kernel: Kernel) -> None:
    pid = kernel.check("import os\nos.getpid()").result
    for name, body in BODIES.items():
        kernel.check(f"%%cognia_task {name} --interval 1\n{body}\n")
    time.sleep(3.5)
    for name in BODIES:
        kernel.check(f"sched.pause_task({name!r}); None")
    assert kernel.km.is_alive()
    assert kernel.check("import os\nos.getpid()").result == pid  # the same process
    assert kernel.check("40 + 2").result == "42"
    for name, error in ERRORS.items():
        out = kernel.check(
            f"df = sched.history({name!r})\n"
            "(len(df), sorted(set(df['status'].astype(str))), sorted(set(df['error'])))"
        )
        assert out.result is not None
        count, statuses, errors = eval(out.result)  # a tuple literal printed by the kernel
        assert count >= 2, (name, out.result)  # it fired again: nothing was left running
        assert statuses == ["failed"] and errors == [error], (name, out.result)
