"""A ``%%cognia_task`` cell body becomes a handler function.

The body is run through IPython's input transformers first (so ``%time`` and other magics in
it work), parsed with ``ast`` and wrapped into ``def <name>(args, context): <body>`` (``async
def`` when the body awaits: it then runs on the kernel loop; otherwise in a worker thread, so a
blocking body never freezes the kernel). ``return`` works, and a final bare expression is
returned like a cell's last line is displayed. ``yield`` is refused. The source is registered
with ``linecache`` under a name of its own, with line numbers matching the cell, so tracebacks
show the cell's lines. Names resolve in the notebook's namespace when the task runs.
"""

from __future__ import annotations

import ast
import itertools
import linecache
import re
from collections.abc import Callable, Iterator
from typing import Any

from .._errors import TaskValidationError

__all__ = ["compile_cell"]

_counter = itertools.count(1)
_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of the body, not descending into nested functions, lambdas or classes."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _NESTED):
                stack.append(child)
            elif isinstance(child, ast.ClassDef):
                stack.extend(child.decorator_list)


def _identifier(name: str) -> str:
    ident = re.sub(r"\W+", "_", name).strip("_") or "task"
    return f"task_{ident}" if ident[0].isdigit() else ident


def compile_cell(
    name: str,
    body: str,
    namespace: dict[str, Any],
    *,
    transform: Callable[[str], str] | None = None,
    first_line: int = 2,
) -> tuple[Callable[..., Any], bool]:
    """Compile a cell body into ``fn(args, context)``.

    Args:
        name: the task name (used for the function's name and the traceback file name).
        body: the cell body (without the ``%%cognia_task`` line).
        namespace: the notebook's globals (``shell.user_ns``).
        transform: IPython's ``shell.transform_cell``.
        first_line: the body's first line number in the cell.

    Returns:
        ``(function, is_async)``.

    Raises:
        TaskValidationError: empty body, a syntax error (``break`` outside a loop and
            ``nonlocal`` included), or ``yield``; the message says which line of the cell.
    """
    source = transform(body) if transform is not None else body
    filename = f"<cognia_task {name} #{next(_counter)}>"
    try:
        module = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        line = (exc.lineno or 1) + first_line - 1
        raise TaskValidationError(
            f"%%cognia_task {name}: syntax error on line {line} of the cell: {exc.msg}",
            field="cell",
            value=exc.text,
        ) from None
    statements = module.body
    if not statements:
        raise TaskValidationError(
            f"%%cognia_task {name}: the cell has no body; write the code the task should run "
            "below the magic line",
            field="cell",
            value=body,
        )
    is_async = False
    for node in _own_nodes(statements):
        if isinstance(node, ast.Yield | ast.YieldFrom):
            line = getattr(node, "lineno", 1) + first_line - 1
            raise TaskValidationError(
                f"%%cognia_task {name}: 'yield' on line {line} of the cell; a task body is a "
                "function that returns its result: use 'return', not 'yield'",
                field="cell",
                value=name,
            )
        if isinstance(node, ast.Await | ast.AsyncFor | ast.AsyncWith):
            is_async = True
    last = statements[-1]
    if isinstance(last, ast.Expr):  # like a cell, the last expression is the result
        statements[-1] = ast.copy_location(ast.Return(value=last.value), last)
    arguments = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg="args"), ast.arg(arg="context")],
        kwonlyargs=[],
        kw_defaults=[],
        defaults=[],
    )
    kind = ast.AsyncFunctionDef if is_async else ast.FunctionDef
    func = kind(name=_identifier(name), args=arguments, body=statements, decorator_list=[],
                returns=None)  # fmt: skip
    if "type_params" in kind._fields:  # Python >= 3.12
        setattr(func, "type_params", [])  # noqa: B010
    wrapper = ast.Module(body=[func], type_ignores=[])
    ast.increment_lineno(wrapper, first_line - 1)
    ast.fix_missing_locations(wrapper)
    try:  # 'break' outside a loop, 'nonlocal', a late 'global': found only when compiling
        code = compile(wrapper, filename, "exec")
    except SyntaxError as exc:
        line = exc.lineno or first_line
        raise TaskValidationError(
            f"%%cognia_task {name}: {exc.msg} on line {line} of the cell (the body runs as a "
            "function of its own: no enclosing loop or function, and 'global' goes before "
            "any use of the name)",
            field="cell",
            value=exc.text,
        ) from None
    cell_lines = [""] * (first_line - 1) + source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, cell_lines, filename)
    scope: dict[str, Any] = {}
    exec(code, namespace, scope)
    fn = scope[func.name]
    fn.__qualname__ = fn.__name__ = _identifier(name)
    return fn, is_async
