"""The house's size rules, kept by CI: no module of the package or a handler over 500 lines, no
function over 60 (docs/ARCHITECTURE.md). A concept that outgrows them is split by concept."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import REPO

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
ROOTS = [REPO / "layers" / "stepline" / "stepline", REPO / "functions"]


def _modules() -> list[Path]:
    return sorted(path for root in ROOTS for path in root.rglob("*.py"))


def oversized(source: str, name: str) -> list[str]:
    """What in one module breaks a size rule: the module itself, or each function (methods
    and nested functions included), with its length in lines, decorators counted."""
    found = []
    lines = len(source.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{name}: {lines} lines (at most {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - first + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{name}:{node.lineno} {node.name}: {length} lines (at most {MAX_FUNCTION_LINES})")
    return found


def test_no_module_or_function_is_over_its_size() -> None:
    # Given every module of the package and every Lambda handler
    modules = _modules()
    assert len(modules) > 100  # the walk found the package
    # When each is measured
    found = [problem for path in modules for problem in oversized(path.read_text(), str(path.relative_to(REPO)))]
    # Then none is over ~500 lines and no function over ~60
    assert found == []


def test_the_measure_sees_a_long_function_and_a_long_module() -> None:
    # Given a module of 501 lines whose one function is 61 lines long
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    source = f"def long():\n{body}\n" + "\n" * (MAX_MODULE_LINES - 61) + "pass\n"
    # Then both are reported, with their lengths
    assert oversized(source, "m.py") == ["m.py: 501 lines (at most 500)", "m.py:1 long: 61 lines (at most 60)"]
    # and a function of exactly 60 lines is not
    assert oversized("def short():\n" + "\n".join(f"    y{i} = {i}" for i in range(59)) + "\n", "s.py") == []
