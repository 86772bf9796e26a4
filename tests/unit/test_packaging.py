"""The Lambda layer and the package install the same runtime dependencies."""

from __future__ import annotations

import tomllib

from tests.helpers import REPO


def test_layer_requirements_match_the_package_dependencies() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = [
        line.strip()
        for line in (REPO / "layers" / "stepline" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(layer) == sorted(declared)


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text()
    assert "make test" in (REPO / "README.md").read_text()
    assert "make demo" in (REPO / "README.md").read_text()
