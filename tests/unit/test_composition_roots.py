"""Two composition roots, loaded lazily: a Lambda handler never loads a local adapter, the
embedded engine or sqlite3; one machine gets the local adapters and the local build runner.

Each handler is imported in a fresh interpreter (a subprocess), because modules this test
process has loaded already would hide what the handler itself imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

HANDLERS = sorted(path.parent.name for path in (REPO / "functions").glob("*/app.py"))
# What template.yaml gives a function (Globals, and the tables some functions add), with fake
# credentials: clients are built, never called.
AWS_ENVIRONMENT = {
    "STEPLINE_RUNTIME": "aws",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "ARTIFACT_BUCKET": "stepline-artifacts",
    "TASK_TOKENS_TABLE": "stepline-task-tokens",
    "APPROVALS_TABLE": "stepline-approvals",
    "PIPELINES_TABLE": "stepline-pipelines",
}
PORTS = [
    "artifact_store", "secret_store", "waiters", "records", "registry", "approvals", "deliveries", "notifier",
    "workflows", "task_callbacks", "container_service", "lambda_functions", "function_invoker", "build_service",
    "builds",
]  # fmt: skip
# Imports the handler as Lambda does (by file path), then builds every port through the root
# (locally, with stand-ins for what the local runtime installs: its engine's callbacks and
# workflows), and prints the root's class and every loaded module AWS must never load.
PROBE = """
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from stepline import wiring
if os.environ["STEPLINE_RUNTIME"] == "local":
    wiring.install_local_callbacks(object())
    wiring.install_local_workflows(object())
for port in json.loads(sys.argv[2]):
    getattr(wiring, port)()
wiring.source_provider("S3"), wiring.source_provider("CodeCommit"), wiring.changed_paths("CodeCommit")
forbidden = ("stepline.adapters.local", "stepline.wiring.local", "stepline.engine", "stepline.local", "sqlite3")
loaded = sorted(name for name in sys.modules if name in forbidden or name.startswith(tuple(f + "." for f in forbidden)))
print(json.dumps({"root": type(wiring.root()).__name__, "builds": type(wiring.builds()).__name__, "loaded": loaded}))
"""


def probe(handler: str, environment: dict[str, str]) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO / "functions" / handler / "app.py"), json.dumps(PORTS)],
        env={"PATH": os.environ.get("PATH", ""), **environment},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, object] = json.loads(completed.stdout.splitlines()[-1])
    return result


def test_every_function_in_the_template_has_a_handler_here() -> None:
    # Given the functions folder; Then it holds the ten handlers template.yaml deploys
    assert len(HANDLERS) >= 10, HANDLERS


@pytest.mark.parametrize("handler", HANDLERS)
def test_a_lambda_handler_loads_no_local_adapter_no_engine_and_no_sqlite(handler: str) -> None:
    # Given a fresh interpreter configured as template.yaml configures a function
    # When the handler is imported and every port is built through the composition root
    result = probe(handler, AWS_ENVIRONMENT)
    # Then the AWS root served them, and nothing of the local runtime was loaded
    assert result["root"] == "AwsRoot"
    assert result["builds"] == "CodeBuildBuilds"
    assert result["loaded"] == []


def test_one_machine_gets_the_local_root_and_the_supervised_runner(tmp_path: Path) -> None:
    # Given the settings of `stepline run`
    environment = {"STEPLINE_RUNTIME": "local", "STEPLINE_DATA": str(tmp_path)}
    # When the build handler is imported and every port is built through the composition root
    result = probe("build", environment)
    # Then the local root served them, with the supervised local runner for builds
    assert result["root"] == "LocalRoot"
    assert result["builds"] == "LocalBuilds"
    assert "stepline.adapters.local" in result["loaded"]
