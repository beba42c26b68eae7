"""%cognia explain (and the other analyst subcommands) in a testing shell."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from .conftest import TestingShell


async def test_explain_magic_returns_the_frame(ip: TestingShell) -> None:
    await ip.run("%%cognia_task nightly --cron '30 2 * * *' --tz America/New_York\nreturn 1\n")
    frame = await ip.run("%cognia explain nightly 3")
    assert len(frame) == 3
    assert all(t.strftime("%H:%M") in ("02:30", "03:00") for t in frame["local"])
    assert list(frame.columns)[:2] == ["local", "utc"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%cognia explain", r"usage: %cognia explain NAME \[N\]"),
        ("%cognia explain a b", r"usage: %cognia explain NAME \[N\]"),
        ("%cognia explain nope", r"no task with id 'nope'"),
    ],
)
async def test_explain_magic_errors(ip: TestingShell, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        await ip.run(line)
