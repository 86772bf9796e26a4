"""CodePipeline's operations on Stepline's real engine, driven by boto3's codepipeline client:
a pipeline created from its declaration runs through the embedded engine (real git, a real
local build, SQLite), waits for an approval whose token GetPipelineState shows, is approved
with PutApprovalResult and succeeds. Every answer's JSON is checked against botocore's model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from stepline import wiring
from stepline.api.app import handle
from stepline.local.runtime import LocalRuntime
from stepline.ports.workflows import execution_arn
from tests.codepipeline_client import assert_last_shapes, client
from tests.gitrepo import Repo
from tests.helpers import action, approval, load_event, pipeline

BUILDSPEC = "version: 0.2\nphases:\n  build:\n    commands: ['echo built > out.txt']\nartifacts:\n  files: [out.txt]\n"


class Stack:
    def __init__(self, tmp_path: Path) -> None:
        self.runtime = LocalRuntime(tmp_path / ".stepline", workers=0)
        wiring.install_local_host(self.runtime)
        self.api = client(wiring.api_token())
        self.repo = Repo(tmp_path / "app")
        self.head = self.repo.commit("first", {"buildspec.yml": BUILDSPEC})

    def declaration(self, name: str = "release", **fields: Any) -> dict[str, Any]:
        source = action(
            "Checkout",
            "Source",
            "Git",
            "Custom",
            configuration={"RepositoryUrl": str(self.repo.path), "BranchName": "main"},
            outputs=["Src"],
            namespace="SourceVariables",
        )
        build = action("Build", "Build", "CodeBuild", configuration={"ProjectName": "b"}, inputs=["Src"])
        return pipeline(
            ("Source", [source]),
            ("Approve", [approval("Review")]),
            ("Build", [build]),
            name=name,
            roleArn="arn:aws:iam::111122223333:role/release",  # the model requires it; Stepline's stack has its own
            **fields,
        )

    def run(self, pipeline_name: str, execution_id: str) -> None:
        """Run the engine until the execution ends or waits for someone (an approval)."""
        entry = wiring.registry().get(pipeline_name)
        assert entry is not None
        arn = execution_arn(entry.state_machine_arn, execution_id)
        self.runtime.engine.run_until_done(arn, skip_waits=True, timeout=60)


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.chdir(tmp_path)
    made = Stack(tmp_path)
    yield made
    assert_last_shapes(made.api)  # every answer of the test matched botocore's output shapes
    made.runtime.close()


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_pipelines_are_created_read_listed_updated_and_deleted(stack: Stack) -> None:
    api = stack.api
    # When a pipeline is created from its declaration
    created = api.create_pipeline(pipeline=stack.declaration(), tags=[{"key": "team", "value": "a"}])
    # Then it is registered at version 1, and reads back with its metadata
    assert created["pipeline"]["version"] == 1
    assert created["tags"] == [{"key": "team", "value": "a"}]
    got = api.get_pipeline(name="release")
    assert got["pipeline"]["stages"][1]["actions"][0]["name"] == "Review"
    assert got["metadata"]["pipelineArn"].startswith("arn:aws:codepipeline:us-east-1:")
    assert got["metadata"]["pipelineArn"].endswith(":release")
    assert wiring.registry().get("release") is not None  # the registry `stepline apply` fills
    # When the same name is created again
    with pytest.raises(api.exceptions.PipelineNameInUseException):
        api.create_pipeline(pipeline=stack.declaration())
    # When an update changes it
    changed = stack.declaration()
    changed["stages"][1]["actions"][0]["configuration"] = {"CustomData": "look at the diff"}
    assert api.update_pipeline(pipeline=changed)["pipeline"]["version"] == 2
    # Then the new version is what is read, and asking for the old one says it is not kept
    assert api.get_pipeline(name="release")["pipeline"]["version"] == 2
    with pytest.raises(api.exceptions.PipelineVersionNotFoundException):
        api.get_pipeline(name="release", version=1)
    # And pipelines are listed by name, a page at a time
    api.create_pipeline(pipeline=stack.declaration("another"))
    first = api.list_pipelines(maxResults=1)
    second = api.list_pipelines(maxResults=1, nextToken=first["nextToken"])
    assert [p["name"] for p in first["pipelines"] + second["pipelines"]] == ["another", "release"]
    assert "nextToken" not in second
    assert second["pipelines"][0]["version"] == 2
    # When one is deleted (twice: deleting what is gone succeeds, as on AWS)
    api.delete_pipeline(name="another")
    api.delete_pipeline(name="another")
    # Then it is gone
    assert [p["name"] for p in api.list_pipelines()["pipelines"]] == ["release"]
    with pytest.raises(api.exceptions.PipelineNotFoundException):
        api.get_pipeline(name="another")


def test_an_invalid_declaration_is_refused_naming_the_problem_and_registers_nothing(stack: Stack) -> None:
    # Given a declaration with one stage (CodePipeline needs two) and one with an unknown provider
    one_stage = stack.declaration()
    one_stage["stages"] = one_stage["stages"][:1]
    unknown = stack.declaration()
    unknown["stages"][2]["actions"][0]["actionTypeId"]["provider"] = "Jenkins9000"
    # When each is created
    with pytest.raises(ClientError) as stages:
        stack.api.create_pipeline(pipeline=one_stage)
    with pytest.raises(ClientError) as actions:
        stack.api.create_pipeline(pipeline=unknown)
    # Then each is refused with CodePipeline's exception and the problem's place
    assert code(stages) == "InvalidStageDeclarationException"
    assert "has 1 stages; a pipeline has 2 to 50" in str(stages.value)
    assert code(actions) == "InvalidActionDeclarationException"
    assert "stages[2].actions[0]" in str(actions.value)
    assert wiring.registry().all() == []


def test_a_run_waits_for_approval_is_approved_with_its_token_and_succeeds(stack: Stack) -> None:
    api = stack.api
    api.create_pipeline(pipeline=stack.declaration())
    # When an execution is started, twice with the same client request token
    started = api.start_pipeline_execution(name="release", clientRequestToken="deploy-42")["pipelineExecutionId"]
    again = api.start_pipeline_execution(name="release", clientRequestToken="deploy-42")["pipelineExecutionId"]
    # Then one execution exists; the same token with other parameters conflicts
    assert again == started
    with pytest.raises(api.exceptions.ConflictException):
        api.start_pipeline_execution(
            name="release",
            clientRequestToken="deploy-42",
            sourceRevisions=[{"actionName": "Checkout", "revisionType": "COMMIT_ID", "revisionValue": stack.head}],
        )
    assert len(api.list_pipeline_executions(pipelineName="release")["pipelineExecutionSummaries"]) == 1
    # When it runs until someone must decide
    stack.run("release", started)
    state = api.get_pipeline_state(name="release")
    stages = {stage["stageName"]: stage for stage in state["stageStates"]}
    # Then the source succeeded, the approval waits with a token, the build has not run
    assert stages["Source"]["latestExecution"] == {
        "pipelineExecutionId": started,
        "status": "Succeeded",
        "type": "STANDARD",
    }
    review = stages["Approve"]["actionStates"][0]["latestExecution"]
    assert review["status"] == "InProgress"
    assert stages["Approve"]["inboundTransitionState"]["enabled"] is True
    assert "latestExecution" not in stages["Build"]
    # When a wrong token is sent, then the right one
    with pytest.raises(api.exceptions.InvalidApprovalTokenException):
        api.put_approval_result(
            pipelineName="release",
            stageName="Approve",
            actionName="Review",
            result={"summary": "ok", "status": "Approved"},
            token="00000000-0000-0000-0000-000000000000",
        )
    approved = api.put_approval_result(
        pipelineName="release",
        stageName="Approve",
        actionName="Review",
        result={"summary": "looks good", "status": "Approved"},
        token=review["token"],
    )
    assert approved["approvedAt"]
    # Then deciding again is refused as already completed
    with pytest.raises(api.exceptions.ApprovalAlreadyCompletedException):
        api.put_approval_result(
            pipelineName="release",
            stageName="Approve",
            actionName="Review",
            result={"summary": "again", "status": "Rejected"},
            token=review["token"],
        )
    # And the run goes on to succeed, stage by stage
    stack.run("release", started)
    execution = api.get_pipeline_execution(pipelineName="release", pipelineExecutionId=started)["pipelineExecution"]
    assert (execution["status"], execution["pipelineVersion"]) == ("Succeeded", 1)
    assert execution["artifactRevisions"] == [{"name": "Checkout", "revisionId": stack.head}]
    assert execution["trigger"]["triggerType"] == "StartPipelineExecution"
    final = api.get_pipeline_state(name="release")
    assert [s["latestExecution"]["status"] for s in final["stageStates"]] == ["Succeeded"] * 3
    # And its action executions show inputs, outputs and the source's output variables
    details = api.list_action_executions(pipelineName="release", filter={"pipelineExecutionId": started})
    by_action = {d["actionName"]: d for d in details["actionExecutionDetails"]}
    assert set(by_action) == {"Checkout", "Review", "Build"}
    assert by_action["Checkout"]["output"]["outputVariables"]["CommitId"] == stack.head
    assert by_action["Checkout"]["output"]["outputArtifacts"] == [{"name": "Src"}]
    assert by_action["Build"]["input"]["inputArtifacts"] == [{"name": "Src"}]
    assert by_action["Build"]["input"]["actionTypeId"]["provider"] == "CodeBuild"
    # And each links to where people read it: the build to its log in the console, others to the run's page
    run_page = f"http://127.0.0.1:8080/pipelines/release/executions/{started}"
    assert by_action["Build"]["output"]["executionResult"]["externalExecutionUrl"] == f"{run_page}/logs/Build.Build"
    assert by_action["Review"]["output"]["executionResult"]["externalExecutionUrl"] == run_page
    assert {d["status"] for d in details["actionExecutionDetails"]} == {"Succeeded"}


def test_an_update_leaves_a_started_execution_at_its_version(stack: Stack) -> None:
    api = stack.api
    api.create_pipeline(pipeline=stack.declaration())
    # Given an execution started at version 1, waiting for approval
    first = api.start_pipeline_execution(name="release")["pipelineExecutionId"]
    stack.run("release", first)
    # When the pipeline is updated and started again
    api.update_pipeline(pipeline=stack.declaration())
    second = api.start_pipeline_execution(name="release")["pipelineExecutionId"]
    # Then each execution reports the version it started with
    versions = {
        execution: api.get_pipeline_execution(pipelineName="release", pipelineExecutionId=execution)[
            "pipelineExecution"
        ]["pipelineVersion"]
        for execution in (first, second)
    }
    assert versions == {first: 1, second: 2}
    # And executions are listed newest first, a page at a time
    page = api.list_pipeline_executions(pipelineName="release", maxResults=1)
    rest = api.list_pipeline_executions(pipelineName="release", maxResults=1, nextToken=page["nextToken"])
    listed = [s["pipelineExecutionId"] for s in page["pipelineExecutionSummaries"] + rest["pipelineExecutionSummaries"]]
    assert listed == [second, first]
    assert "nextToken" not in rest
    # And once the second has run up to its approval too, both runs' actions are listed a page at a time
    stack.run("release", second)
    actions = api.list_action_executions(pipelineName="release", maxResults=3)
    more = api.list_action_executions(pipelineName="release", maxResults=3, nextToken=actions["nextToken"])
    pages = [
        (d["pipelineExecutionId"], d["actionName"])
        for d in [*actions["actionExecutionDetails"], *more["actionExecutionDetails"]]
    ]
    assert sorted(pages) == sorted([(e, a) for e in (first, second) for a in ("Checkout", "Review")])
    assert len(actions["actionExecutionDetails"]) == 3
    assert "nextToken" not in more


def test_variables_are_checked_and_reported(stack: Stack) -> None:
    api = stack.api
    api.create_pipeline(pipeline=stack.declaration(variables=[{"name": "Env", "defaultValue": "staging"}]))
    # When a run overrides a declared variable, and another names one the pipeline lacks
    started = api.start_pipeline_execution(name="release", variables=[{"name": "Env", "value": "prod"}])
    with pytest.raises(api.exceptions.ValidationException) as undeclared:
        api.start_pipeline_execution(name="release", variables=[{"name": "Region", "value": "x"}])
    # Then the first runs with its value, the second is refused naming the variable
    execution = api.get_pipeline_execution(pipelineName="release", pipelineExecutionId=started["pipelineExecutionId"])
    assert execution["pipelineExecution"]["variables"] == [{"name": "Env", "resolvedValue": "prod"}]
    assert "Variable 'Region' is not declared" in str(undeclared.value)
    assert len(api.list_pipeline_executions(pipelineName="release")["pipelineExecutionSummaries"]) == 1


def test_a_lever_not_yet_available_says_so_and_changes_nothing(stack: Stack) -> None:
    api = stack.api
    api.create_pipeline(pipeline=stack.declaration())
    started = api.start_pipeline_execution(name="release")["pipelineExecutionId"]
    # When a stage retry is asked for
    with pytest.raises(api.exceptions.ValidationException) as refused:
        api.retry_stage_execution(
            pipelineName="release", stageName="Source", pipelineExecutionId=started, retryMode="FAILED_ACTIONS"
        )
    # Then it says the lever is not available, and the execution still runs
    assert "RetryStageExecution is not available" in str(refused.value)
    execution = api.get_pipeline_execution(pipelineName="release", pipelineExecutionId=started)
    assert execution["pipelineExecution"]["status"] == "InProgress"
    with pytest.raises(api.exceptions.PipelineNotFoundException):
        api.disable_stage_transition(pipelineName="ghost", stageName="Build", transitionType="Inbound", reason="x")


def test_where_no_server_registers_pipelines_create_says_so(stack: Stack) -> None:
    # Given an API with no pipeline host (as the API function on AWS has none)
    wiring.reset()
    # When a pipeline is created through it
    with pytest.raises(stack.api.exceptions.ValidationException) as refused:
        stack.api.create_pipeline(pipeline=stack.declaration())
    # Then it says where pipelines are registered, and nothing was
    assert "stepline deploy" in str(refused.value)
    assert wiring.registry().all() == []


def test_an_execution_a_push_started_says_so(stack: Stack) -> None:
    # Given the pipeline, and a git hook reporting a push to its branch (as `stepline hook` does)
    stack.api.create_pipeline(pipeline=stack.declaration())
    event = load_event("api/cli-decision.json")
    body = {"repository": str(stack.repo.path), "ref": "refs/heads/main", "before": "0" * 40, "after": stack.head}
    event.update({"httpMethod": "POST", "path": "/api/hooks/git", "body": json.dumps(body)})
    event["requestContext"] = {**event["requestContext"], "path": "/api/hooks/git", "httpMethod": "POST"}
    event["headers"] = {"Content-Type": "application/json", "Authorization": f"Bearer {wiring.api_token()}"}
    event["multiValueHeaders"] = {}
    assert handle(event, None)["statusCode"] == 202
    # When its executions are listed
    [summary] = stack.api.list_pipeline_executions(pipelineName="release")["pipelineExecutionSummaries"]
    # Then the push is its trigger, in CodePipeline's words
    assert summary["trigger"]["triggerType"] == "WebhookV2"
    assert summary["sourceRevisions"] == [{"actionName": "Checkout", "revisionId": stack.head}]
    assert summary["status"] == "InProgress"
