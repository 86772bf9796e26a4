"""Invoke/AWS/StepFunctions on one machine: the user's state machine on the embedded engine,
its end reported by the engine as EventBridge would, the waiting task answered once."""

from __future__ import annotations

import copy
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from stepline.actions.errors import ArtifactError
from stepline.actions.invoke_states import (
    ExecutionStatusChange,
    execution_name,
    finish_state_machine,
    start_state_machine,
)
from stepline.actions.request import ActionRequest
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.adapters.local.waiters import SqliteWaiters
from stepline.adapters.local.workflows import EngineWorkflows, status_change_event
from stepline.engine import Engine, ManualClock
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import put_directory
from tests.helpers import load_event


class Recorded:
    def __init__(self) -> None:
        self.answers: list[tuple[str, Any]] = []

    def succeed(self, token: str, output: Mapping[str, object]) -> None:
        self.answers.append(("succeed", output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self.answers.append(("fail", (error, cause)))


class World:
    def __init__(self, tmp: Path, definition: dict[str, Any]) -> None:
        self.engine = Engine(clock=ManualClock())
        self.machine = self.engine.create_state_machine("payments-smoke-tests", definition)["stateMachineArn"]
        self.store = LocalArtifactStore(tmp / "artifacts")
        self.waiters = SqliteWaiters(tmp / "waiters.sqlite")
        self.callbacks = Recorded()
        self.workflows = EngineWorkflows(self.engine)
        self.outcomes: list[str] = []
        self.engine.on_finished(
            lambda described: self.outcomes.append(
                finish_state_machine(
                    ExecutionStatusChange.model_validate(status_change_event(described)),
                    self.workflows,
                    self.store,
                    self.waiters,
                    self.callbacks,
                )
            )
        )
        self.tmp = tmp

    def request(self, **configuration: str) -> ActionRequest:
        event = copy.deepcopy(load_event("invoke/step-functions.json"))
        event["action"]["configuration"]["StateMachineArn"] = self.machine
        event["action"]["configuration"].update(configuration)
        return ActionRequest.model_validate(event)

    def start(self, request: ActionRequest) -> str:
        arn = start_state_machine(request, self.workflows, self.store, self.waiters, self.callbacks, 0.0)
        self.engine.run()
        return arn


SMOKE = {
    "StartAt": "Check",
    "States": {"Check": {"Type": "Pass", "Parameters": {"checked.$": "$.image", "passed": 42}, "End": True}},
}


def test_the_state_machine_runs_and_its_end_answers_the_task(tmp_path: Path) -> None:
    world = World(tmp_path, SMOKE)
    request = world.request()
    execution = world.start(request)
    assert execution.endswith(":release-push-3e9ecf5")
    [(kind, output)] = world.callbacks.answers
    assert kind == "succeed"
    assert output["variables"] == {"StateMachineArn": world.machine, "ExecutionArn": execution}
    location = output["artifacts"]["SmokeReport"]["location"].removeprefix("file://")
    with zipfile.ZipFile(location) as bundle:
        assert json.loads(bundle.read("output.json")) == {
            "checked": "111122223333.dkr.ecr.us-east-1.amazonaws.com/payments:3e9ecf5",
            "passed": 42,
        }
    # A retried start finds the same execution, and the token is answered only once
    assert start_state_machine(request, world.workflows, world.store, world.waiters, world.callbacks, 0.0) == execution
    assert len(world.engine.list_executions(world.machine)["executions"]) == 1
    assert len(world.callbacks.answers) == 1


def test_a_failed_execution_fails_the_task(tmp_path: Path) -> None:
    world = World(
        tmp_path,
        {
            "StartAt": "Boom",
            "States": {"Boom": {"Type": "Fail", "Error": "SmokeTestsFailed", "Cause": "3 of 45 checks failed"}},
        },
    )
    world.start(world.request())
    [(kind, (error, cause))] = world.callbacks.answers
    assert (kind, error) == ("fail", "StateMachineFailed")
    assert cause.endswith("FAILED: SmokeTestsFailed: 3 of 45 checks failed")


def test_input_from_a_file_in_the_input_artifact(tmp_path: Path) -> None:
    world = World(tmp_path, SMOKE)
    folder = tmp_path / "built"
    folder.mkdir()
    (folder / "smoke-input.json").write_text('{"image": "from-file"}')
    event = world.request(InputType="FilePath", Input="smoke-input.json").model_dump(by_alias=True)
    event["action"]["inputArtifacts"] = [{"name": "Image"}]
    event["artifacts"]["Image"] = put_directory(world.store, "payments-release", "push-3e9ecf5", "Image", folder)
    world.start(ActionRequest.model_validate(event))
    [(_, output)] = world.callbacks.answers
    location = output["artifacts"]["SmokeReport"]["location"].removeprefix("file://")
    with zipfile.ZipFile(location) as bundle:
        assert json.loads(bundle.read("output.json"))["checked"] == "from-file"
    event["action"]["configuration"]["Input"] = "missing.json"
    with pytest.raises(ArtifactError, match=r"missing\.json is not in input artifact 'Image'"):
        world.start(ActionRequest.model_validate(event))


def test_literal_input_must_be_json(tmp_path: Path) -> None:
    world = World(tmp_path, SMOKE)
    with pytest.raises(ConfigurationError, match="the execution input is not JSON \\(line 1, column 2"):
        world.start(world.request(Input="{not json"))


def test_execution_names_are_valid_and_bounded() -> None:
    assert execution_name("", "push-3e9ecf5") == "push-3e9ecf5"
    assert execution_name("nightly run", "exec:1") == "nightly-run-exec-1"
    assert len(execution_name("p" * 70, "x" * 70)) == 80
