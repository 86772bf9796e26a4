"""The rules of the house (docs/ARCHITECTURE.md, "Layers"), each an automated check.

Imports are read from the source (AST), every import that runs: at the top of a module or
inside a function (a lazy import is still a dependency), but not under ``if TYPE_CHECKING:``
(annotations only). ``from a import b`` counts as importing ``a`` and ``a.b``, so
``from stepline import wiring`` is an import of ``stepline.wiring``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.helpers import REPO

PACKAGE = REPO / "layers" / "stepline" / "stepline"
HANDLERS = REPO / "functions"
# Nothing in definition or compiler may reach the network, AWS, a database or a process.
IMPURE = ("boto3", "botocore", "urllib.request", "http", "socket", "sqlite3", "subprocess", "requests")

Imports = Mapping[str, list[tuple[str, int]]]  # module → (imported name, line)


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(source: str, module: str) -> list[tuple[str, int]]:
    """Every name a module imports at run time, with its line (see the module's docstring)."""
    found: list[tuple[str, int]] = []
    pending: list[ast.AST] = [ast.parse(source)]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package
                package = module.split(".")[: -node.level]
                base = ".".join([*package, *([base] if base else [])])
            found += [(base, node.lineno), *((f"{base}.{alias.name}", node.lineno) for alias in node.names)]
        pending += [child for child in ast.iter_child_nodes(node) if not _is_type_checking(child)]  # type: ignore[arg-type]
    return sorted(set(found), key=lambda item: (item[1], item[0]))


def _module_name(path: Path) -> str:
    if path.is_relative_to(HANDLERS):
        return f"functions.{path.parent.name}.app"
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _sources() -> dict[str, str]:
    paths = [*PACKAGE.rglob("*.py"), *HANDLERS.glob("*/app.py")]
    return {_module_name(path): path.read_text(encoding="utf-8") for path in sorted(paths)}


@cache
def house() -> dict[str, list[tuple[str, int]]]:
    return {module: imports_of(source, module) for module, source in _sources().items()}


def within(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


@dataclass(frozen=True)
class Rule:
    """Modules that ``applies`` to may import only what ``allowed`` accepts."""

    name: str
    applies: Callable[[str], bool]
    allowed: Callable[[str], bool]

    def broken(self, imports: Imports) -> list[str]:
        return [
            f"{module}:{line} imports {name}"
            for module, names in imports.items()
            if self.applies(module)
            for name, line in names
            if not self.allowed(name)
        ]


def _stepline_only(*allowed: str, also: tuple[str, ...] = ()) -> Callable[[str], bool]:
    """Within the package only these; outside it, anything but what ``also`` names."""
    return lambda name: within(name, *allowed) if within(name, "stepline") else not within(name, *also)


RULES = [
    # definition and compiler are pure: no boto3, no network, no engine, nothing above them.
    Rule(
        "definition is pure",
        lambda m: within(m, "stepline.definition"),
        _stepline_only("stepline.definition", "stepline.errors", "stepline.files", also=IMPURE),
    ),
    Rule(
        "compiler is pure",
        lambda m: within(m, "stepline.compiler"),
        _stepline_only("stepline.compiler", "stepline.definition", "stepline.errors", also=IMPURE),
    ),
    # The engine runs any state machine and knows nothing of pipelines.
    Rule(
        "engine knows nothing of pipelines",
        lambda m: within(m, "stepline.engine"),
        # Of the ports, only the object store a distributed Map reads and writes S3 through.
        _stepline_only(
            "stepline.engine",
            "stepline.errors",
            "stepline.observability",
            "stepline.ports.objects",
            also=("boto3", "botocore"),
        ),
    ),
    Rule(
        "only adapters/aws imports boto3 or botocore",
        lambda m: not within(m, "stepline.adapters.aws"),
        lambda name: not within(name, "boto3", "botocore"),
    ),
    # Actions are written against ports; which adapter serves a port is the wiring's business.
    Rule(
        "actions import ports, not adapters",
        lambda m: within(m, "stepline.actions"),
        lambda name: (
            not within(
                name,
                "stepline.adapters",
                "stepline.wiring",
                "stepline.local",
                "stepline.api",
                "stepline.cli",
                "stepline",
            )
            or within(
                name,
                "stepline.actions",
                "stepline.ports",
                "stepline.definition",
                "stepline.errors",
                "stepline.files",
                "stepline.archives",
                "stepline.observability",
            )
        ),
    ),
    # Adapters implement ports; of the actions they know only the errors' names (the contract
    # with Step Functions' Retry and Catch). The AWS and local sides never import each other.
    Rule(
        "adapters import no action, wiring or runtime",
        lambda m: within(m, "stepline.adapters"),
        lambda name: (
            not within(name, "stepline.actions", "stepline.wiring", "stepline.local", "stepline.api", "stepline.cli")
            or within(name, "stepline.actions.errors")
        ),
    ),
    Rule(
        "adapters/aws imports no local adapter",
        lambda m: within(m, "stepline.adapters.aws", "stepline.adapters.github", "stepline.wiring.aws"),
        lambda name: not within(name, "stepline.adapters.local", "stepline.wiring.local", "stepline.engine", "sqlite3"),
    ),
    Rule(
        "adapters/local imports no AWS adapter",
        lambda m: within(m, "stepline.adapters.local"),
        lambda name: not within(name, "stepline.adapters.aws", "stepline.adapters.github", "stepline.wiring"),
    ),
    # Ports own their data types and depend only on the pure domain.
    Rule(
        "ports import only the domain",
        lambda m: within(m, "stepline.ports"),
        _stepline_only(
            "stepline.ports", "stepline.definition", "stepline.compiler", "stepline.archives", "stepline.errors"
        ),
    ),
    Rule(
        "settings import only errors",
        lambda m: m == "stepline.settings",
        _stepline_only("stepline.errors"),
    ),
    # Handlers are thin: an event parsed, a correlation id, adapters from the wiring, one action.
    Rule(
        "handlers reach AWS and the machine only through the wiring",
        lambda m: within(m, "functions"),
        lambda name: (
            not within(name, "boto3", "botocore", "stepline.adapters", "stepline.wiring.aws", "stepline.wiring.local")
        ),
    ),
    # The command line sits on top: nothing in the package imports it.
    Rule(
        "cli on top",
        lambda m: not within(m, "stepline.cli", "stepline.__main__"),
        lambda name: not within(name, "stepline.cli"),
    ),
]


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_the_house_keeps_its_rule(rule: Rule) -> None:
    # Given every module of the package and every handler; When their imports are read
    # Then none breaks the rule
    assert rule.broken(house()) == []


def top_level_cycles(imports: Imports) -> list[list[str]]:
    """Cycles between the package's top-level parts (``stepline.X``), each as a path."""
    edges: dict[str, set[str]] = {}
    for module, names in imports.items():
        if not within(module, "stepline"):
            continue
        source = module.split(".")[1] if "." in module else ""
        for name, _ in names:
            parts = name.split(".")
            if parts[0] == "stepline" and len(parts) > 1 and parts[1] != source and source:
                edges.setdefault(source, set()).add(parts[1])
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> Iterator[list[str]]:
        for following in sorted(edges.get(node, ())):
            if following == path[0]:
                yield [*path, following]
            elif following not in path and following > path[0]:
                yield from walk(following, [*path, following])

    for start in sorted(edges):
        cycles += walk(start, [start])
    return cycles


def test_no_cycle_between_the_top_level_packages() -> None:
    # Given the imports between stepline's parts (stepline.actions, stepline.local, …)
    # Then no part depends, through others or directly, on itself
    assert top_level_cycles(house()) == []


# Who may read os.environ, and why: settings read the configuration once; the CLI's documented
# defaults (--data, --url, a token) and the git hook's; a build inherits the environment, as a
# CodeBuild build inherits its image's; a supervisor's child gets PATH; the local secret store
# is the environment. Everything else is given its configuration.
ENVIRON_READERS = (
    "stepline.settings",
    "stepline.cli",
    "stepline.local.hooks",
    "stepline.actions.build.runner",
    "stepline.actions.build.supervisor",
    "stepline.adapters.local.secrets",
)


ENVIRON_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv"}


def environ_readers(sources: Mapping[str, str]) -> list[str]:
    found = []
    for module, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            read = (  # os.environ, os.getenv, or either imported from os
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
                and node.attr in ENVIRON_NAMES
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module == "os"
                and any(a.name in ENVIRON_NAMES for a in node.names)
            )
            if read and not within(module, *ENVIRON_READERS):
                found.append(f"{module}:{getattr(node, 'lineno', 0)}")
    return found


def test_configuration_is_read_from_the_environment_only_by_the_settings() -> None:
    assert environ_readers(_sources()) == []


def test_a_handler_is_one_short_function() -> None:
    # Given each functions/<name>/app.py
    handlers = {module: source for module, source in _sources().items() if within(module, "functions")}
    assert len(handlers) >= 10
    for module, source in handlers.items():
        tree = ast.parse(source)
        defined = [node for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)]
        # Then it defines lambda_handler alone, in at most 30 lines
        assert [node.name for node in defined] == ["lambda_handler"], module
        assert (defined[0].end_lineno or 0) - defined[0].lineno < 30, module


# The checks themselves, shown a house that breaks each rule.


def test_each_rule_sees_a_module_breaking_it() -> None:
    # Given, for each rule, one module importing what the rule forbids
    breaking = {
        "definition is pure": ("stepline.definition.rules", "stepline.triggers.globs"),
        "compiler is pure": ("stepline.compiler.asl", "boto3"),
        "engine knows nothing of pipelines": ("stepline.engine.api", "stepline.definition.models"),
        "only adapters/aws imports boto3 or botocore": ("stepline.deploy", "botocore.exceptions"),
        "actions import ports, not adapters": ("stepline.actions.source", "stepline.adapters.local.git"),
        "adapters import no action, wiring or runtime": ("stepline.adapters.github", "stepline.actions.source"),
        "adapters/aws imports no local adapter": ("stepline.wiring.aws", "stepline.adapters.local.approvals"),
        "adapters/local imports no AWS adapter": ("stepline.adapters.local.git", "stepline.adapters.aws.sources"),
        "ports import only the domain": ("stepline.ports.approvals", "stepline.actions.approval"),
        "settings import only errors": ("stepline.settings", "stepline.actions.errors"),
        "handlers reach AWS and the machine only through the wiring": ("functions.build.app", "boto3"),
        "cli on top": ("stepline.api.app", "stepline.cli.render"),
    }
    assert set(breaking) == {rule.name for rule in RULES}
    for rule in RULES:
        module, name = breaking[rule.name]
        # Then the rule reports it, with the line
        assert rule.broken({module: [(name, 7)]}) == [f"{module}:7 imports {name}"], rule.name


def test_the_readers_see_imports_cycles_and_the_environment() -> None:
    # Given a module importing lazily, under TYPE_CHECKING, and by "from package import module"
    source = (
        "from typing import TYPE_CHECKING\nfrom stepline import wiring\n"
        "if TYPE_CHECKING:\n    from stepline.engine import Engine\n"
        "def f():\n    import boto3\n    return os.environ['X']\n"
    )
    found = imports_of(source, "stepline.actions.x")
    # Then the lazy import and the module counted, the annotation-only one not
    assert ("stepline.wiring", 2) in found
    assert ("boto3", 6) in found
    assert not any(name.startswith("stepline.engine") for name, _ in found)
    # And a cycle between two parts is found, as is an environment read outside the settings
    assert top_level_cycles(
        {"stepline.actions.a": [("stepline.local.b", 1)], "stepline.local.b": [("stepline.actions.a", 2)]}
    )
    assert environ_readers({"stepline.actions.x": source}) == ["stepline.actions.x:7"]
