"""The Lambda layer and the package install the same runtime dependencies, but the command
line's own."""

from __future__ import annotations

import ast
import tomllib

from tests.helpers import REPO

PACKAGE = REPO / "layers" / "stepline" / "stepline"


def test_layer_requirements_match_the_package_dependencies_but_the_clis() -> None:
    # Given the package's dependencies, and those only the command line uses
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    declared, cli_only = project["project"]["dependencies"], project["tool"]["stepline"]["cli-only"]
    # When the layer's requirements are read
    layer = [
        line.strip()
        for line in (REPO / "layers" / "stepline" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # Then the layer has every dependency but the CLI's (rich is not shipped to Lambda)
    assert set(cli_only) <= set(declared)
    assert sorted(layer) == sorted(set(declared) - set(cli_only))


def _imported(path: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse((REPO / path).read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_command_line_imports_its_own_dependencies() -> None:
    # Given the CLI-only dependencies (by their import name)
    cli_only = {"rich"}
    # When every module of the package and every handler is read
    modules = [str(path.relative_to(REPO)) for path in [*PACKAGE.rglob("*.py"), *(REPO / "functions").rglob("*.py")]]
    importers = {path for path in modules if _imported(path) & cli_only}
    # Then only stepline/cli/ imports them: a Lambda (without them in its layer) never does
    assert importers
    assert {path for path in importers if not path.startswith("layers/stepline/stepline/cli/")} == set()


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text()
    assert "make test" in (REPO / "README.md").read_text()
    assert "make demo" in (REPO / "README.md").read_text()
