"""Cell bodies and ``%cognia emit`` payloads that used to raise SyntaxError / RecursionError
are usage errors naming the problem and the cell line."""

from __future__ import annotations

import json

import pytest
from IPython.core.error import UsageError

from .conftest import TestingShell


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x = 1\nbreak\n", r"'break' outside loop on line 3 of the cell"),
        ("continue\n", r"'continue' not properly in loop on line 2 of the cell"),
        ("nonlocal x\nx = 1\n", r"nonlocal declaration not allowed at module level|no binding "
         r"for nonlocal 'x' found"),
        ("x = 1\nglobal x\n", r"name 'x' is assigned to before global declaration on line 3"),
        ("print(x)\nglobal x\n", r"name 'x' is used prior to global declaration"),
    ],
)  # fmt: skip
async def test_compile_time_errors_in_a_body_are_usage_errors(
    ip: TestingShell, body: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        await ip.run(f"%%cognia_task bad --interval 60\n{body}")
    assert "function of its own" in str(caught.value)
    assert not isinstance(caught.value, SyntaxError)
    assert ip.ns.get("bad") is None


async def test_global_first_still_works(ip: TestingShell) -> None:
    await ip.run("counter = 0")
    await ip.run("%%cognia_task bump --interval 60\nglobal counter\ncounter += 1\nreturn counter")


@pytest.mark.parametrize("depth", [65, 3000])
async def test_emit_with_deeply_nested_json_is_a_usage_error(ip: TestingShell, depth: int) -> None:
    payload = "[" * depth + "]" * depth
    with pytest.raises(UsageError, match=r"%cognia emit: the payload nests deeper than 64 levels"):
        await ip.run(f"%cognia emit deep:event '{payload}'")


async def test_emit_with_nested_json_within_the_limit_works(ip: TestingShell) -> None:
    payload = json.dumps({"a": [[{"b": 1}]]})
    assert await ip.run(f"%cognia emit ok:event '{payload}'") == []
