"""Deploy/AWS/Lambda: the static traffic-shifting state machine (statemachines/lambda_deploy.asl.json)
run on the embedded engine with a driven clock, its steps acting on moto's Lambda and CloudWatch."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from stepline.actions.deploy.lambda_deploy import run_step
from stepline.adapters.aws.lambdas import AwsLambdaFunctions
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.adapters.local.records import FileRecords
from stepline.compiler import substitute
from stepline.engine import Engine, Functions, ManualClock
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import put_directory
from tests.helpers import REPO, load_event
from tests.moto_env import moto_aws

pytestmark = pytest.mark.functional


def code(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("app.py", text)
    return buffer.getvalue()


def lambda_deploy_machine() -> dict[str, Any]:
    """statemachines/lambda_deploy.asl.json with its resource filled, as SAM's DefinitionSubstitutions fill it."""
    definition = json.loads((REPO / "statemachines" / "lambda_deploy.asl.json").read_text(encoding="utf-8"))
    filled: dict[str, Any] = substitute(definition, {"DeployLambdaFunctionArn": "deploy_lambda"})
    return filled


class Recording(AwsLambdaFunctions):
    """The real adapter, remembering each traffic change; an alarm can be set to fire on the canary."""

    def __init__(self, lambda_client: Any, cloudwatch: Any, fire_alarm_at: float | None = None) -> None:
        super().__init__(lambda_client, cloudwatch)
        self.changes: list[tuple[str, str, float]] = []
        self.fire_alarm_at = fire_alarm_at

    def route(self, function: str, alias: str, stable: str, canary: str, weight: float) -> None:
        super().route(function, alias, stable, canary, weight)
        self.changes.append(("route", canary, weight))
        if self.fire_alarm_at is not None and weight >= self.fire_alarm_at:
            self.cloudwatch.set_alarm_state(
                AlarmName="reminders-api-errors", StateValue="ALARM", StateReason="errors on the canary"
            )

    def promote(self, function: str, alias: str, version: str) -> None:
        super().promote(function, alias, version)
        self.changes.append(("promote", version, 1.0))


class World:
    def __init__(self, tmp: Path) -> None:
        self.lambdas = boto3.client("lambda", region_name="us-east-1")
        self.cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        role = boto3.client("iam", region_name="us-east-1").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        self.lambdas.create_function(
            FunctionName="reminders-api",
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code("v1")},
        )
        self.lambdas.publish_version(FunctionName="reminders-api")
        self.lambdas.create_alias(FunctionName="reminders-api", Name="live", FunctionVersion="1")
        self.cloudwatch.put_metric_alarm(
            AlarmName="reminders-api-errors",
            MetricName="Errors",
            Namespace="AWS/Lambda",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        self.tmp = tmp
        self.store = LocalArtifactStore(tmp / "artifacts")
        self.records = FileRecords(tmp / "records")

    def payload(self, strategy: str) -> dict[str, Any]:
        folder = self.tmp / "build"
        folder.mkdir(exist_ok=True)
        (folder / "app.py").write_text("def handler(event, context):\n    return 'v2'\n")
        event = copy.deepcopy(load_event("deploy_lambda/canary.json"))
        event["action"]["configuration"]["DeployStrategy"] = strategy
        event["artifacts"]["BuildArtifact"] = put_directory(
            self.store, "FriendReminders", "manual-1", "BuildArtifact", folder
        )
        return event

    def deploy(self, strategy: str, fire_alarm_at: float | None = None) -> tuple[dict[str, Any], Recording, float]:
        adapter = Recording(self.lambdas, self.cloudwatch, fire_alarm_at)
        clock = ManualClock()
        engine = Engine(
            clock=clock,
            functions=Functions({"deploy_lambda": lambda event, context: run_step(event, adapter, self.records)}),
        )
        definition = lambda_deploy_machine()
        machine = engine.create_state_machine("lambda-deploy", definition)["stateMachineArn"]
        began = clock.now()
        execution = engine.start_execution(machine, "d1", json.dumps(self.payload(strategy)))["executionArn"]
        return engine.run_until_done(execution, skip_waits=True), adapter, clock.now() - began

    def alias(self) -> dict[str, Any]:
        found: dict[str, Any] = self.lambdas.get_alias(FunctionName="reminders-api", Name="live")
        return found


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with moto_aws(monkeypatch, config={"lambda": {"use_docker": False}}):
        yield World(tmp_path)


@pytest.mark.parametrize(
    ("strategy", "changes", "baked"),
    [
        ("AllAtOnce", [("promote", "2", 1.0)], 0),
        ("Canary10Percent5Minutes", [("route", "2", 0.1), ("promote", "2", 1.0)], 300),
        (
            "Linear25PercentEvery1Minute",
            [("route", "2", 0.25), ("route", "2", 0.5), ("route", "2", 0.75), ("promote", "2", 1.0)],
            180,
        ),
    ],
)
def test_traffic_shifts_to_the_new_version(
    world: World, strategy: str, changes: list[tuple[str, str, float]], baked: float
) -> None:
    described, adapter, elapsed = world.deploy(strategy)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"]) == {
        "artifacts": {},
        "variables": {"FunctionVersion": "2", "PreviousVersion": "1"},
    }
    assert adapter.changes == changes
    assert elapsed == baked  # the bake times passed on the driven clock, not in real time
    alias = world.alias()
    assert alias["FunctionVersion"] == "2"
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    code_now = world.lambdas.get_function(FunctionName="reminders-api", Qualifier="2")["Configuration"]
    assert code_now["Version"] == "2"


def test_an_alarm_during_the_bake_rolls_back(world: World) -> None:
    described, adapter, _ = world.deploy("Linear25PercentEvery1Minute", fire_alarm_at=0.5)
    assert (described["status"], described["error"]) == ("FAILED", "RolledBack")
    assert described["cause"] == (
        "Deploy.Deploy: alarm reminders-api-errors fired with 50% of traffic on version 2; live is back on version 1"
    )
    assert adapter.changes == [("route", "2", 0.25), ("route", "2", 0.5), ("promote", "1", 1.0)]
    assert world.alias()["FunctionVersion"] == "1"


def test_a_retried_prepare_publishes_no_second_version(world: World) -> None:
    adapter = Recording(world.lambdas, world.cloudwatch)
    event = {"step": "prepare", "request": world.payload("Canary10Percent5Minutes")}
    first = run_step(event, adapter, world.records)
    second = run_step(event, adapter, world.records)
    assert first == second
    versions = [v["Version"] for v in world.lambdas.list_versions_by_function(FunctionName="reminders-api")["Versions"]]
    assert versions == ["$LATEST", "1", "2"]


def test_a_missing_alias_is_named(world: World) -> None:
    event = world.payload("AllAtOnce")
    event["action"]["configuration"]["FunctionAlias"] = "prod"
    with pytest.raises(ConfigurationError, match="Lambda 'reminders-api:prod' does not exist"):
        run_step({"step": "prepare", "request": event}, Recording(world.lambdas, world.cloudwatch), world.records)


def test_an_image_detail_artifact_deploys_a_container_image(world: World) -> None:
    updates: list[str] = []

    class Images(Recording):
        def update_image(self, function: str, image_uri: str) -> None:
            updates.append(image_uri)  # moto's Lambda has no image functions to update

    folder = world.tmp / "image"
    folder.mkdir()
    (folder / "imageDetail.json").write_text(
        '{"ImageURI": "111122223333.dkr.ecr.us-east-1.amazonaws.com/reminders:3e9ecf5"}'
    )
    event = world.payload("AllAtOnce")
    event["artifacts"]["BuildArtifact"] = put_directory(
        world.store, "FriendReminders", "manual-2", "BuildArtifact", folder
    )
    event["execution"]["id"] += "-image"
    plan = run_step(
        {"step": "prepare", "request": event}, Images(world.lambdas, world.cloudwatch), world.records, world.store
    )
    assert updates == ["111122223333.dkr.ecr.us-east-1.amazonaws.com/reminders:3e9ecf5"]
    # The stub changed no code, so publishing returns the live version, as Lambda does: nothing to shift
    assert (plan["target"], plan["previous"], plan["weights"]) == ("1", "1", [100])


def test_a_slow_update_is_waited_for_a_bounded_time_and_the_retry_does_not_update_again(world: World) -> None:
    """Lambda through botocore's Stubber: moto finishes every update at once, and the point here
    is an update still InProgress (LastUpdateStatus, as GetFunctionConfiguration documents it)."""
    from botocore.stub import ANY, Stubber

    from stepline.actions.errors import TransientActionError

    client: Any = boto3.client("lambda", region_name="us-east-1")
    ticks = iter(range(0, 10_000, 30))
    adapter = AwsLambdaFunctions(
        client, world.cloudwatch, wait_seconds=60, sleep=lambda _: None, clock=lambda: next(ticks)
    )
    event = {"step": "prepare", "request": world.payload("AllAtOnce")}
    with Stubber(client) as stub:
        # Given an update that is still in progress after the bounded wait
        stub.add_response("update_function_code", {}, {"FunctionName": "reminders-api", "ZipFile": ANY})
        for _ in range(3):
            stub.add_response(
                "get_function_configuration", {"LastUpdateStatus": "InProgress"}, {"FunctionName": "reminders-api"}
            )
        # When prepare runs, Then it gives up as transient (the state machine retries it)
        with pytest.raises(TransientActionError, match="still in progress after 60 s"):
            run_step(event, adapter, world.records)
        # When the retry runs, Then it waits for the same update, updates nothing, and publishes
        stub.add_response(
            "get_function_configuration", {"LastUpdateStatus": "Successful"}, {"FunctionName": "reminders-api"}
        )
        stub.add_response("publish_version", {"Version": "2"}, {"FunctionName": "reminders-api", "Description": ANY})
        stub.add_response("get_alias", {"FunctionVersion": "1"}, {"FunctionName": "reminders-api", "Name": "live"})
        plan = run_step(event, adapter, world.records)
        stub.assert_no_pending_responses()
    assert (plan["target"], plan["previous"]) == ("2", "1")


def test_a_shift_that_fails_part_way_rolls_the_alias_back_instead_of_leaving_it_split(world: World) -> None:
    # Given a linear deployment whose second traffic shift fails (the alias refuses the update)
    class Breaking(Recording):
        def route(self, function: str, alias: str, stable: str, canary: str, weight: float) -> None:
            if weight >= 0.5:
                raise ConfigurationError(
                    f"Lambda refused the deployment of '{function}:{alias}': AccessDeniedException"
                )
            super().route(function, alias, stable, canary, weight)

    adapter = Breaking(world.lambdas, world.cloudwatch)
    clock = ManualClock()
    engine = Engine(
        clock=clock,
        functions=Functions({"deploy_lambda": lambda event, context: run_step(event, adapter, world.records)}),
    )
    definition = lambda_deploy_machine()
    machine = engine.create_state_machine("lambda-deploy", definition)["stateMachineArn"]
    execution = engine.start_execution(machine, "d1", json.dumps(world.payload("Linear25PercentEvery1Minute")))[
        "executionArn"
    ]
    # When it runs
    described = engine.run_until_done(execution, skip_waits=True)
    # Then the alias is wholly back on the old version, and the failure says why
    assert (described["status"], described["error"]) == ("FAILED", "RolledBack")
    assert described["cause"] == (
        "Deploy.Deploy: shifting traffic failed (ConfigurationError: Lambda refused the deployment of "
        "'reminders-api:live': AccessDeniedException) with 25% of traffic on version 2; live is back on version 1"
    )
    alias = world.alias()
    assert alias["FunctionVersion"] == "1"
    assert not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")
