"""Execution modes and levers end to end on the embedded engine: a real LocalRuntime (engine,
SQLite, the real source, approval, invoke and stage-gate handlers from template.yaml), a real
git repository, real executions. Only the deployment target is a Python function recording
which commit it was given."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stepline import wiring
from stepline.actions.approval import decide
from stepline.actions.errors import ActionError
from stepline.control import levers
from stepline.definition.models import PipelineDeclaration
from stepline.errors import Conflict, InvalidInput, NotFound
from stepline.local.runtime import LocalRuntime
from tests.gitrepo import Repo
from tests.helpers import action, approval, pipeline

DEPLOYED: list[str] = []


def deployer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The deployment target: records the commit it was asked to deploy."""
    DEPLOYED.append(event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"])
    return {}


class Pipeline:
    def __init__(self, tmp_path: Path, document: dict[str, Any]) -> None:
        self.repo = Repo(tmp_path / "app")
        self.commits = [self.repo.commit("first", {"app.txt": "1"})]
        functions = f"deployer={__name__}:deployer,flaky={__name__}:flaky_deployer,broken={__name__}:broken"
        environment = {"STEPLINE_FUNCTIONS": functions}
        self.runtime = LocalRuntime(tmp_path / ".stepline", workers=0, environment=environment)
        self.entry = self.runtime.apply(PipelineDeclaration.model_validate(document))
        self.arns: list[str] = []

    def push(self, message: str) -> str:
        """A new commit, and an execution started for it (as a push does); the engine runs what it can."""
        commit = self.commits[-1] if not self.arns else self.repo.commit(message, {"app.txt": message})
        if self.arns:
            self.commits.append(commit)
        trigger = {"type": "Webhook", "revisions": {"Checkout": {"commitId": commit}}}
        self.arns.append(self.runtime.start(self.entry.name, {"trigger": trigger, "variables": {}}))
        self.settle()
        return commit

    def settle(self) -> None:
        self.runtime.engine.run()

    def statuses(self) -> list[str]:
        return [self.runtime.run_of(arn, self.entry).status for arn in self.arns]

    def pending(self) -> list[tuple[str, str]]:
        """Pending approvals as (execution index, stage.action)."""
        names = [arn.rsplit(":", 1)[-1] for arn in self.arns]
        return sorted(
            (f"e{names.index(a.execution_name) + 1}", f"{a.stage}.{a.action}") for a in wiring.approvals().pending()
        )

    def approve(self, execution: int) -> None:
        name = self.arns[execution - 1].rsplit(":", 1)[-1]
        [found] = [a for a in wiring.approvals().pending() if a.execution_name == name]
        decide(found.id, True, "ship it", "reviewer", wiring.approvals(), wiring.task_callbacks())
        self.settle()


def release_pipeline(**fields: Any) -> dict[str, Any]:
    """Source → Approve → Deploy (the deployer told the commit), V1 unless told otherwise."""
    source = action(
        "Checkout",
        "Source",
        "Git",
        "Custom",
        configuration={"RepositoryUrl": "REPO", "BranchName": "main"},
        outputs=["Src"],
        namespace="SourceVariables",
    )
    deploy = action(
        "Ship",
        "Invoke",
        "Lambda",
        configuration={"FunctionName": "deployer", "UserParameters": "#{SourceVariables.CommitId}"},
    )
    document = pipeline(("Source", [source]), ("Approve", [approval("Release")]), ("Deploy", [deploy]), name="release")
    del document["pipelineType"], document["executionMode"]  # a V1 pipeline naming no mode: SUPERSEDED
    document.update(fields)
    return document


@pytest.fixture
def make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.chdir(tmp_path)
    DEPLOYED.clear()
    made: list[Pipeline] = []

    def build(**fields: Any) -> Pipeline:
        document = release_pipeline(**fields)
        document["stages"][0]["actions"][0]["configuration"]["RepositoryUrl"] = str(tmp_path / "app")
        made.append(Pipeline(tmp_path, document))
        return made[-1]

    yield build
    for each in made:
        each.runtime.close()


def test_three_pushes_while_an_approval_waits_deploy_only_the_newest_commit(make: Any) -> None:
    # Given a V1 pipeline (SUPERSEDED, the default) whose first execution waits for approval
    p = make()
    p.push("first")
    assert p.pending() == [("e1", "Approve.Release")]
    # When two more commits are pushed
    p.push("second")
    p.push("third")
    # Then each newer execution reaching the approval stage superseded the stale approval before it:
    # only the newest commit waits for a reviewer
    assert p.pending() == [("e3", "Approve.Release")]
    assert p.statuses() == ["Superseded", "Superseded", "InProgress"]
    # When it is approved, Then the newest commit is the one deployed, and only it
    p.approve(3)
    assert p.statuses() == ["Superseded", "Superseded", "Succeeded"]
    assert [p.commits[2]] == DEPLOYED
    # And the superseded approval says so
    names = [arn.rsplit(":", 1)[-1] for arn in p.arns]
    first = [a for a, _ in [wiring.approvals().get(i) or (None, "") for i in _approval_ids(p, names[0])] if a]
    assert [(a.status, a.comment.split(",")[0]) for a in first] == [
        ("Superseded", f"superseded by execution {names[1]}")
    ]


def _approval_ids(p: Pipeline, execution_name: str) -> list[str]:
    from stepline.actions.approval import approval_id

    return [approval_id(p.entry.name, execution_name, "Approve", "Release")]


def test_without_the_stale_approval_rule_the_waiting_execution_is_superseded_and_the_approved_one_deploys(
    make: Any,
) -> None:
    # Given the pipeline-level opt-out (a V2 pipeline variable), and the first execution waiting for approval
    p = make(pipelineType="V2", variables=[{"name": "SteplineSupersedeApprovals", "defaultValue": "false"}])
    p.push("first")
    # When two more commits are pushed
    p.push("second")
    p.push("third")
    # Then the approval holds its stage: the second waits in front of it and is superseded by the third
    assert p.pending() == [("e1", "Approve.Release")]
    assert p.statuses() == ["InProgress", "Superseded", "InProgress"]
    # When the first is approved, it deploys; the third enters the approval stage and, approved, deploys
    p.approve(1)
    assert p.pending() == [("e3", "Approve.Release")]
    p.approve(3)
    assert p.statuses() == ["Succeeded", "Superseded", "Succeeded"]
    assert [p.commits[0], p.commits[2]] == DEPLOYED


def test_queued_runs_three_executions_one_after_another_in_order(make: Any) -> None:
    # Given a QUEUED pipeline and three pushes
    p = make(pipelineType="V2", executionMode="QUEUED")
    for message in ("first", "second", "third"):
        p.push(message)
    # Then one execution at a time holds the approval stage, first in first out, and none is superseded
    for turn in (1, 2, 3):
        assert p.pending() == [(f"e{turn}", "Approve.Release")]
        p.approve(turn)
    assert p.statuses() == ["Succeeded", "Succeeded", "Succeeded"]
    assert p.commits == DEPLOYED


def test_parallel_executions_overlap(make: Any) -> None:
    # Given a PARALLEL pipeline and three pushes
    p = make(pipelineType="V2", executionMode="PARALLEL")
    for message in ("first", "second", "third"):
        p.push(message)
    # Then all three wait for approval at the same time, and each deploys when approved, in any order
    assert p.pending() == [("e1", "Approve.Release"), ("e2", "Approve.Release"), ("e3", "Approve.Release")]
    for turn in (3, 1, 2):
        p.approve(turn)
    assert p.statuses() == ["Succeeded", "Succeeded", "Succeeded"]
    assert [p.commits[2], p.commits[0], p.commits[1]] == DEPLOYED


def test_a_disabled_transition_holds_executions_and_enabling_it_lets_only_the_newest_through(make: Any) -> None:
    # Given the transition into Approve disabled with a reason
    p = make()
    control = wiring.run_control()
    levers.disable_transition(control, p.entry, "Approve", "release freeze until the audit ends", "ops")
    assert levers.transitions(control, p.entry)["Approve"]["disabledReason"] == "release freeze until the audit ends"
    # When three commits are pushed
    for message in ("first", "second", "third"):
        p.push(message)
    # Then none enters the stage; each newer one supersedes the one waiting before it
    assert p.pending() == []
    assert p.statuses() == ["Superseded", "Superseded", "InProgress"]
    # When the transition is enabled, Then only the newest goes through
    levers.enable_transition(control, p.entry, "Approve")
    p.settle()
    assert p.pending() == [("e3", "Approve.Release")]
    assert levers.transitions(control, p.entry)["Approve"] == {"enabled": True}


def test_levers_refuse_what_codepipeline_refuses(make: Any) -> None:
    p = make()
    control = wiring.run_control()
    cases = [
        (lambda: levers.disable_transition(control, p.entry, "Nope", "why"), NotFound, "release has no stage 'Nope'"),
        (lambda: levers.disable_transition(control, p.entry, "Source", "why"), InvalidInput, "first stage"),
        (lambda: levers.disable_transition(control, p.entry, "Deploy", "  "), InvalidInput, "give 1 to 300 characters"),
        (lambda: levers.disable_transition(control, p.entry, "Deploy", "x" * 301), InvalidInput, "(got 301)"),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind) as refused:
            call()
        assert message in str(refused.value)


BUILDSPEC = """version: 0.2
phases:
  build:
    commands:
      - touch "$SIGNALS/started-$CODEBUILD_BUILD_NUMBER"
      - while [ ! -f "$SIGNALS/finish" ]; do sleep 0.05; done
"""


def building_pipeline(repo: Path) -> dict[str, Any]:
    """Source → Build (a real local build that runs until told to finish) → Deploy."""
    document = release_pipeline()
    document["stages"][0]["actions"][0]["configuration"]["RepositoryUrl"] = str(repo)
    build = action("Compile", "Build", "CodeBuild", configuration={"ProjectName": "compile"}, inputs=["Src"])
    document["stages"][1] = {"name": "Build", "actions": [build]}
    return document


@pytest.fixture
def building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.chdir(tmp_path)
    signals = tmp_path / "signals"
    signals.mkdir()
    monkeypatch.setenv("SIGNALS", str(signals))
    DEPLOYED.clear()
    repo = Repo(tmp_path / "app")
    repo.commit("first", {"buildspec.yml": BUILDSPEC})
    environment = {"STEPLINE_FUNCTIONS": f"deployer={__name__}:deployer"}
    runtime = LocalRuntime(tmp_path / ".stepline", workers=2, environment=environment)
    entry = runtime.apply(PipelineDeclaration.model_validate(building_pipeline(tmp_path / "app")))
    runtime.start_worker()
    yield runtime, entry, signals
    (signals / "finish").touch()  # a build an abandon left running ends with the test
    runtime.close()


def wait_for(condition: Any, what: str) -> None:
    """Wait for the engine's worker or a build to reach a condition (the limit is a safety net)."""
    import time

    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def test_stop_and_wait_lets_the_running_build_finish_and_starts_nothing_after_it(building: Any) -> None:
    runtime, entry, signals = building
    # Given an execution mid-build
    arn = runtime.start(entry.name)
    wait_for(lambda: list(signals.glob("started-*")), "the build started")
    # When it is stopped (and wait)
    described = runtime.engine.describe_execution(arn)
    outcome = levers.stop_execution(
        wiring.run_control(), entry, arn, described, "bad commit", False, wiring.workflows()
    )
    # Then it is Stopping: the build runs on
    assert outcome == "Stopping"
    assert runtime.run_of(arn, entry).status == "InProgress"
    # When the build finishes, Then nothing new starts: the run is Stopped, its build Succeeded
    (signals / "finish").touch()
    wait_for(lambda: runtime.run_of(arn, entry).status != "InProgress", "the run ended")
    run = runtime.run_of(arn, entry)
    assert run.status == "Stopped"
    assert {a.key: a.status for a in run.actions} == {
        "Source.Checkout": "Succeeded",
        "Build.Compile": "Succeeded",
        "Deploy.Ship": "Pending",
    }
    assert DEPLOYED == []


def test_abandon_stops_now_marks_the_build_abandoned_and_frees_its_stage(building: Any) -> None:
    runtime, entry, signals = building
    # Given an execution mid-build, first stopped and wait (then escalated)
    arn = runtime.start(entry.name)
    wait_for(lambda: list(signals.glob("started-*")), "the build started")
    control = wiring.run_control()
    stop = levers.stop_execution
    assert (
        stop(control, entry, arn, runtime.engine.describe_execution(arn), "", False, wiring.workflows()) == "Stopping"
    )
    # When it is abandoned
    described = runtime.engine.describe_execution(arn)
    assert stop(control, entry, arn, described, "wrong branch", True, wiring.workflows()) == "Stopped"
    # Then it is Stopped at once, its running build Abandoned
    run = runtime.run_of(arn, entry)
    assert run.status == "Stopped"
    assert {a.key: a.status for a in run.actions}["Build.Compile"] == "Abandoned"
    # And the Build stage it held is free: a new execution enters it without waiting
    later = runtime.start(entry.name)
    wait_for(
        lambda: runtime.run_of(later, entry).stages[1].actions[0].status == "InProgress",
        f"the next execution's build started {list(signals.iterdir())} {control.locks.read(entry.name)}",
    )
    # And a stopped execution cannot be stopped again
    with pytest.raises(Conflict):
        stop(control, entry, arn, runtime.engine.describe_execution(arn), "", True, wiring.workflows())
    (signals / "finish").touch()
    wait_for(lambda: runtime.run_of(later, entry).status != "InProgress", "the next run ended")
    assert runtime.run_of(later, entry).status == "Succeeded"


def test_a_rollback_execution_redeploys_the_previous_revision(make: Any) -> None:
    # Given a V2 pipeline that deployed two commits, one after the other
    p = make(pipelineType="V2")
    p.push("first")
    p.approve(1)
    p.push("second")
    p.approve(2)
    assert [p.commits[0], p.commits[1]] == DEPLOYED
    # When its Deploy stage is rolled back to the first execution
    target = p.arns[0].rsplit(":", 1)[-1]
    arn = levers.rollback_stage(p.entry, "Deploy", target, wiring.workflows())
    p.arns.append(arn)
    p.settle()
    # Then a new execution of type ROLLBACK ran Deploy alone, with the first commit's variables
    assert p.statuses()[-1] == "Succeeded"
    assert [p.commits[0], p.commits[1], p.commits[0]] == DEPLOYED
    run = p.runtime.run_of(arn, p.entry)
    assert (run.trigger["type"], run.trigger["executionType"], run.trigger["rollbackTarget"]) == (
        "ManualRollback",
        "ROLLBACK",
        target,
    )
    assert {stage.name: stage.status for stage in run.stages} == {
        "Source": "Pending",
        "Approve": "Pending",
        "Deploy": "Succeeded",
    }
    # And what CodePipeline refuses is refused, saying why
    refusals = [
        (lambda: levers.rollback_stage(p.entry, "Source", target, wiring.workflows()), InvalidInput, "first stage"),
        (lambda: levers.rollback_stage(p.entry, "Deploy", "ghost", wiring.workflows()), NotFound, "'ghost'"),
        (
            lambda: levers.rollback_stage(p.entry, "Deploy", arn.rsplit(":", 1)[-1], wiring.workflows()),
            Conflict,
            "is a rollback execution",
        ),
    ]
    for call, kind, message in refusals:
        with pytest.raises(kind) as refused:
            call()
        assert message in str(refused.value)


def test_a_parallel_or_v1_pipeline_cannot_be_rolled_back(make: Any) -> None:
    p = make()  # V1
    p.push("first")
    with pytest.raises(InvalidInput) as refused:
        levers.rollback_stage(p.entry, "Deploy", p.arns[0].rsplit(":", 1)[-1], wiring.workflows())
    assert "needs a V2 pipeline whose executionMode is not PARALLEL" in str(refused.value)


def release_only(result: str) -> dict[str, Any]:
    """Deploy's beforeEntry: only commits whose message starts "release:" go in; the others ``result``."""
    rule = {
        "name": "ReleaseCommitsOnly",
        "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "VariableCheck", "version": "1"},
        "configuration": {"Variable": "#{SourceVariables.CommitMessage}", "Operator": "MATCHES", "Value": "^release:"},
    }
    return {"conditions": [{"result": result, "rules": [rule]}]}


def test_a_skip_condition_skips_the_stage_and_the_run_goes_on(make: Any) -> None:
    # Given Deploy's beforeEntry condition (VariableCheck) with the result SKIP
    p = make(pipelineType="V2")
    p.entry = p.runtime.apply(_with_before_entry(p, release_only("SKIP")))
    # When a commit that is not a release goes through, Then Deploy is skipped and the run succeeds
    p.push("docs: a typo")
    p.approve(1)
    assert p.statuses() == ["Succeeded"]
    assert DEPLOYED == []
    run = p.runtime.run_of(p.arns[0], p.entry)
    assert {stage.name: stage.status for stage in run.stages}["Deploy"] == "Pending"
    # When a release commit goes through, Then Deploy runs
    p.push("release: v2")
    p.approve(2)
    assert p.statuses() == ["Succeeded", "Succeeded"]
    assert [p.commits[1]] == DEPLOYED


def test_a_fail_condition_fails_the_run_naming_the_rule(make: Any) -> None:
    p = make(pipelineType="V2")
    p.entry = p.runtime.apply(_with_before_entry(p, release_only("FAIL")))
    p.push("docs: a typo")
    p.approve(1)
    run = p.runtime.run_of(p.arns[0], p.entry)
    assert run.status == "Failed"
    assert run.error == "ActionFailed"
    assert "Deploy's beforeEntry condition failed: ReleaseCommitsOnly:" in run.cause
    assert DEPLOYED == []


def _with_before_entry(p: Pipeline, before_entry: dict[str, Any]) -> PipelineDeclaration:
    document = dict(p.entry.declaration)
    stages = [dict(stage) for stage in document["stages"]]
    stages[2]["beforeEntry"] = before_entry
    return PipelineDeclaration.model_validate({**document, "stages": stages})


def alarm_watch(alarm: str) -> dict[str, Any]:
    """onSuccess: the stage fails while the CloudWatch alarm is in ALARM."""
    rule = {
        "name": "NoErrors",
        "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "CloudWatchAlarm", "version": "1"},
        "configuration": {"AlarmName": alarm},
    }
    return {"conditions": [{"result": "FAIL", "rules": [rule]}]}


@pytest.mark.parametrize(
    "stage", [1, 2], ids=["Approve, checked at Deploy's gate", "Deploy, the last, checked at release"]
)
def test_an_alarm_fails_a_stage_on_success(make: Any, stage: int) -> None:
    # Given a stage whose onSuccess condition watches an alarm, which is in ALARM (locally, the
    # alarms' states are what <data>/alarms.json says)
    p = make(pipelineType="V2")
    document = dict(p.entry.declaration)
    stages = [dict(each) for each in document["stages"]]
    stages[stage]["onSuccess"] = alarm_watch("checkout-errors")
    p.entry = p.runtime.apply(PipelineDeclaration.model_validate({**document, "stages": stages}))
    (p.runtime.data / "alarms.json").write_text(json.dumps({"checkout-errors": "ALARM"}))
    # When an execution goes through that stage
    p.push("first")
    p.approve(1)
    # Then the run fails on the condition, naming the stage, the rule and the alarm
    run = p.runtime.run_of(p.arns[0], p.entry)
    assert run.status == "Failed"
    name = stages[stage]["name"]
    assert f"{name}'s onSuccess condition failed: NoErrors: checkout-errors is ALARM" in run.cause
    assert ([] if stage == 1 else [p.commits[0]]) == DEPLOYED
    # When the alarm is OK again, Then the next execution succeeds
    (p.runtime.data / "alarms.json").write_text(json.dumps({"checkout-errors": "OK"}))
    p.push("second")
    p.approve(2)
    assert p.statuses()[-1] == "Succeeded"


def deployment_window(cron: str) -> dict[str, Any]:
    rule = {
        "name": "OfficeHours",
        "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "DeploymentWindow", "version": "1"},
        "configuration": {"Cron": cron, "TimeZone": "UTC"},
    }
    return {"conditions": [{"result": "FAIL", "rules": [rule]}]}


def test_a_closed_deployment_window_holds_the_execution_in_front_of_the_stage(make: Any) -> None:
    # Given Deploy's beforeEntry DeploymentWindow, closed now (open only twelve hours from now)
    p = make(pipelineType="V2")
    hour = (datetime.now(UTC).hour + 12) % 24
    p.entry = p.runtime.apply(_with_before_entry(p, deployment_window(f"* * {hour} ? * *")))
    # When an execution is approved
    p.push("first")
    p.approve(1)
    # Then it is held in front of Deploy, waiting for the window, and nothing deployed
    assert p.statuses() == ["InProgress"]
    assert DEPLOYED == []
    history = wiring.workflows().history(p.arns[0])
    waits = [e for e in history if e["type"] == "WaitStateEntered"]
    assert [e["stateEnteredEventDetails"]["name"] for e in waits] == ["Deploy held"]
    # And it holds no stage meanwhile: a pipeline whose window is open deploys at once
    p.entry = p.runtime.apply(_with_before_entry(p, deployment_window("* * * ? * *")))
    p.push("second")
    p.approve(2)
    assert p.statuses()[-1] == "Succeeded"
    assert [p.commits[1]] == DEPLOYED


FLAKY: list[str] = []


def flaky_deployer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fails its first call, then deploys (a deployment target that was briefly unavailable)."""
    FLAKY.append("called")
    if len(FLAKY) == 1:
        raise ActionError("the target was not reachable")
    return deployer(event, context)


def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A deployment target that is down."""
    raise ActionError("the target is down")


def test_a_failed_stage_is_retried_automatically_within_the_same_execution(make: Any) -> None:
    # Given Deploy with onFailure RETRY, whose target fails the first call
    FLAKY.clear()
    p = make(pipelineType="V2")
    document = dict(p.entry.declaration)
    stages = [dict(each) for each in document["stages"]]
    stages[2]["onFailure"] = {"result": "RETRY", "retryConfiguration": {"retryMode": "ALL_ACTIONS"}}
    stages[2]["actions"] = [
        {
            **stages[2]["actions"][0],
            "configuration": {"FunctionName": "flaky", "UserParameters": "#{SourceVariables.CommitId}"},
        }
    ]
    p.entry = p.runtime.apply(PipelineDeclaration.model_validate({**document, "stages": stages}))
    # When an execution reaches it
    p.push("first")
    p.approve(1)
    # Then Deploy failed once, ran again in the same execution, and the run succeeded: one history
    assert FLAKY == ["called", "called"]
    assert p.statuses() == ["Succeeded"]
    assert [p.commits[0]] == DEPLOYED
    run = p.runtime.run_of(p.arns[0], p.entry)
    assert {a.key: a.status for a in run.actions}["Deploy.Ship"] == "Succeeded"
    history = wiring.workflows().history(p.arns[0])
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    assert entered.count("Deploy.Ship") == 2
    assert "Deploy retried" in entered


def test_a_stage_failing_again_after_its_retry_fails_the_run(make: Any) -> None:
    # Given Deploy with onFailure RETRY whose target always fails
    p = make(pipelineType="V2")
    document = dict(p.entry.declaration)
    stages = [dict(each) for each in document["stages"]]
    stages[2]["onFailure"] = {"result": "RETRY"}
    action = {**stages[2]["actions"][0], "configuration": {"FunctionName": "broken"}}
    stages[2]["actions"] = [action]
    p.entry = p.runtime.apply(PipelineDeclaration.model_validate({**document, "stages": stages}))
    p.push("first")
    p.approve(1)
    # Then it ran twice (once retried) and the run failed on the second failure
    history = wiring.workflows().history(p.arns[0])
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    assert entered.count("Deploy.Ship") == 2
    assert p.statuses() == ["Failed"]
    assert p.runtime.run_of(p.arns[0], p.entry).failure() is not None
