"""The shape of the `stepline` command (stepline/cli/): one set of exit codes used everywhere,
and a parser that loads no command's machinery."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import stepline.cli
from stepline.cli.exits import CommandFailed, ExitCode, UsageError, exit_code_for
from stepline.compiler import CompilationError
from stepline.definition import DefinitionError
from stepline.engine.store import StoreFull, UnusableDatabase
from stepline.errors import ConfigurationError

CLI = Path(stepline.cli.__file__).parent
# What `stepline --version` and the parser must not load: each costs tens of milliseconds.
# What `stepline validate` must not load: it reads definitions, it runs nothing.
RUNNING = ["rich", "boto3", "botocore", "sqlite3", "stepline.compiler", "stepline.engine", "stepline.api"]
RUNNING += ["stepline.adapters", "stepline.wiring", "stepline.local"]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pipelines" / "local-demo.yaml"
HEAVY = [
    "pydantic",
    "rich",
    "boto3",
    "botocore",
    "sqlite3",
    "yaml",
    "stepline.engine",
    "stepline.api",
    "stepline.definition",
]


def _bare_exit_codes(tree: ast.AST) -> list[int]:
    """Lines returning or exiting with a number where an ExitCode belongs."""
    lines = []
    for node in ast.walk(tree):
        value = None
        if isinstance(node, ast.Return):
            value = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "exit":
            value = node.args[0] if node.args else None
        if isinstance(value, ast.IfExp):
            value = value.body if isinstance(value.body, ast.Constant) else value.orelse
        if isinstance(value, ast.Constant) and type(value.value) is int:
            lines.append(node.lineno)
    return lines


def test_no_command_returns_a_bare_number() -> None:
    # Given every module of the cli package
    # When their returns and exits are read
    found = {path.name: lines for path in CLI.glob("*.py") if (lines := _bare_exit_codes(ast.parse(path.read_text())))}
    # Then each says ExitCode.OK/FAILED/BAD_INPUT, never 0, 1 or 2
    assert found == {}


def test_the_check_sees_a_bare_number() -> None:
    # Given a command that returns 1 when the run failed (what asl_cli.py once did)
    code = "def command(args):\n    return 0 if args.ok else 1\n"
    # Then the check finds it
    assert _bare_exit_codes(ast.parse(code)) == [2]


def _prints(tree: ast.AST) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
    ]


def test_only_the_renderer_prints() -> None:
    # Given every module of the cli package but render.py
    modules = [path for path in CLI.glob("*.py") if path.name != "render.py"]
    # When their calls are read
    found = {path.name: lines for path in modules if (lines := _prints(ast.parse(path.read_text())))}
    # Then none prints by itself: output goes through render (lines, JSON, warnings, refusals, rich)
    assert found == {}
    assert _prints(ast.parse("print('x')")) == [1]


def test_each_kind_of_error_has_its_exit_code() -> None:
    # Given errors raised on purpose, of both kinds
    bad_input = [
        UsageError("--source x: write NAME=PATH"),
        DefinitionError("p.yaml", []),
        CompilationError(["two actions share a name"]),
        UnusableDatabase("cannot open the database x.sqlite: file is not a database"),
    ]
    failed = [CommandFailed("the API refused"), ConfigurationError("not set"), StoreFull("the disk is full")]
    # Then bad input exits 2 and every other failure 1
    assert {exit_code_for(error) for error in bad_input} == {ExitCode.BAD_INPUT}
    assert {exit_code_for(error) for error in failed} == {ExitCode.FAILED}
    assert (ExitCode.OK, ExitCode.FAILED, ExitCode.BAD_INPUT) == (0, 1, 2)


def test_building_the_parser_loads_no_commands_machinery() -> None:
    # Given a fresh interpreter
    probe = (
        "import sys\n"
        "from stepline.cli.main import _parser\n"
        "_parser()\n"
        f"heavy = {HEAVY!r}\n"
        "print(__import__('json').dumps(sorted(n for n in sys.modules if n in heavy or n.startswith(tuple(h + '.' for h in heavy)))))\n"
    )
    # When it builds the `stepline` parser (what every command, --version included, does first)
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    # Then nothing a command needs only when it runs has been imported
    assert json.loads(loaded.stdout) == []


def test_validate_loads_the_definitions_and_nothing_that_runs_them() -> None:
    # Given a fresh interpreter
    probe = (
        "import contextlib, io, json, sys\n"
        "from stepline.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['validate', {str(EXAMPLE)!r}])\n"
        f"running = {RUNNING!r}\n"
        "print(json.dumps([code, sorted(n for n in sys.modules if n in running or n.startswith(tuple(r + '.' for r in running)))]))\n"
    )
    # When it validates a pipeline file
    answer = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    # Then the file is valid, and no compiler, engine, API, adapter, AWS SDK or rich was loaded
    assert json.loads(answer.stdout) == [0, []]


def test_version_answers_through_the_entry_point() -> None:
    # Given the console script's entry point, called as `python -m stepline` calls it
    answer = subprocess.run(
        [sys.executable, "-m", "stepline", "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    # Then it prints the version and exits 0
    assert (answer.returncode, answer.stdout.strip()) == (0, f"stepline {stepline.__version__}")
