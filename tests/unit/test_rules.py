"""Every validation rule, each shown failing on a definition that breaks it: path and message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stepline.definition import Severity, check_file
from stepline.definition.models import PipelineDeclaration
from stepline.definition.rules import validate
from tests.helpers import (
    EXAMPLES,
    action,
    approval,
    codebuild,
    git_source,
    maximal,
    minimal,
    pipeline,
    with_change,
    write,
)


def problems_of(document: dict[str, Any]) -> list[tuple[str, str]]:
    declaration = PipelineDeclaration.model_validate(document)
    return [(p.path, p.message) for p in validate(declaration) if p.severity is Severity.ERROR]


def assert_only_problem(document: dict[str, Any], path: str, message: str) -> None:
    assert problems_of(document) == [(path, message)]


def test_examples_and_minimal_pipeline_have_no_errors() -> None:
    assert problems_of(minimal()) == []
    for example in sorted(EXAMPLES.iterdir()):
        report = check_file(example)
        assert report.valid, (example.name, report.problems)


def test_a_maximal_pipeline_is_valid() -> None:
    # Given 50 stages of 10 actions: CodePipeline's stage limit, and 500 actions in all
    assert problems_of(maximal()) == []


# --- counts -----------------------------------------------------------------------------------


def test_one_stage_is_too_few() -> None:
    document = pipeline(("Source", [git_source()]))
    assert_only_problem(document, "stages", "has 1 stages; a pipeline has 2 to 50")


def test_fifty_one_stages_are_too_many() -> None:
    document = maximal(stages=51, actions_per_stage=1)
    assert ("stages", "has 51 stages; a pipeline has 2 to 50") in problems_of(document)


def test_a_stage_needs_an_action_and_holds_at_most_fifty() -> None:
    empty = with_change(minimal(), "stages[1].actions", [])
    assert_only_problem(empty, "stages[1].actions", "stage 'Build' has 0 actions; a stage has 1 to 50")
    crowded = with_change(minimal(), "stages[1].actions", [codebuild(f"B{i}") for i in range(51)])
    assert ("stages[1].actions", "stage 'Build' has 51 actions; a stage has 1 to 50") in problems_of(crowded)


def test_five_hundred_actions_per_pipeline_at_most() -> None:
    document = maximal(stages=11, actions_per_stage=50)  # 550 actions
    assert ("stages", "has 550 actions; a pipeline has at most 500") in problems_of(document)


# --- names ------------------------------------------------------------------------------------


def test_stage_names_are_unique() -> None:
    document = with_change(minimal(), "stages[1].name", "Source")
    assert_only_problem(document, "stages[1].name", "stage name 'Source' is already used by stages[0]")


def test_action_names_are_unique_within_a_stage() -> None:
    document = with_change(minimal(), "stages[1].actions", [codebuild("Build"), codebuild("Build")])
    assert_only_problem(
        document,
        "stages[1].actions[1].name",
        "action name 'Build' is already used in stage 'Build' by actions[0]",
    )


def test_pipeline_variable_names_are_unique() -> None:
    document = {**minimal(), "variables": [{"name": "Env"}, {"name": "Env"}]}
    assert_only_problem(document, "variables[1].name", "pipeline variable 'Env' is already declared by variables[0]")


# --- stages and providers ---------------------------------------------------------------------


def test_first_stage_holds_only_sources() -> None:
    document = with_change(minimal(), "stages[0].actions", [git_source(), approval()])
    assert_only_problem(
        document,
        "stages[0].actions[1].actionTypeId.category",
        "the first stage holds only source actions; action 'Approve' in stage 'Source' is a Approval action",
    )


def test_sources_only_in_the_first_stage() -> None:
    document = with_change(minimal(), "stages[1].actions", [git_source("Late", output="Late")])
    assert_only_problem(
        document,
        "stages[1].actions[0].actionTypeId.category",
        "source actions belong in the first stage; action 'Late' in stage 'Build' is in stage 2",
    )


def test_unknown_provider_lists_the_supported_ones() -> None:
    document = with_change(minimal(), "stages[1].actions[0].actionTypeId.provider", "Jenkins")
    [(path, message)] = problems_of(document)
    assert path == "stages[1].actions[0].actionTypeId"
    assert message.startswith("Build/AWS/Jenkins is not an action type Stepline runs; supported: ")
    assert "Build/AWS/CodeBuild" in message
    assert "Deploy/AWS/ECS" in message


def test_unsupported_provider_version() -> None:
    document = with_change(minimal(), "stages[1].actions[0].actionTypeId.version", "2")
    assert_only_problem(
        document,
        "stages[1].actions[0].actionTypeId.version",
        "version '2' of Build/AWS/CodeBuild is not supported; use 1",
    )


def test_required_configuration_is_named() -> None:
    document = with_change(minimal(), "stages[1].actions[0].configuration", {})
    assert_only_problem(
        document,
        "stages[1].actions[0].configuration.ProjectName",
        "is required by Build/AWS/CodeBuild actions",
    )


def test_unknown_configuration_key_suggests_and_lists() -> None:
    document = with_change(minimal(), "stages[1].actions[0].configuration.Projectname", "x")
    [(path, message)] = problems_of(document)
    assert path == "stages[1].actions[0].configuration.Projectname"
    assert message.startswith("is not a configuration key of Build/AWS/CodeBuild (did you mean 'ProjectName'?)")
    assert "it takes: BatchEnabled, BuildspecOverride" in message


def test_configuration_key_that_step_functions_would_read_as_a_path() -> None:
    document = with_change(minimal(), "stages[1].actions[0].configuration", {"ProjectName": "p", "ProjectName.$": "$"})
    assert (
        "stages[1].actions[0].configuration.ProjectName.$",
        "a configuration key must not end in '.$' (Step Functions reads such keys as paths)",
    ) in problems_of(document)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("BatchEnabled", "yes", "'yes' is not true or false"),
        (
            "EnvironmentVariables",
            "[{]",
            "is not valid JSON (Expecting property name enclosed in double quotes at character 2)",
        ),
        ("EnvironmentVariables", '{"name": "A"}', "must be a JSON list of {name, value, type} objects"),
        (
            "EnvironmentVariables",
            '[{"name": "A", "value": "1", "type": "VAULT"}]',
            "entry 0 (A) has type 'VAULT'; use PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER",
        ),
    ],
)
def test_configuration_values_are_checked(key: str, value: str, message: str) -> None:
    document = with_change(minimal(), f"stages[1].actions[0].configuration.{key}", value)
    assert_only_problem(document, f"stages[1].actions[0].configuration.{key}", message)


def test_configuration_values_with_variables_are_checked_when_resolved_not_now() -> None:
    # Given a value check (true/false) on a value that is a variable reference
    document = with_change(minimal(), "stages[1].actions[0].configuration.BatchEnabled", "#{SourceVariables.CommitId}")
    # Then it is not judged now: its value is known only when the action starts
    assert problems_of(document) == []


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        ("Canary10Percent5Minutes", None),
        ("Linear10PercentEvery1Minute", None),
        ("AllAtOnce", None),
        (
            "Blue",
            "'Blue' is not a deploy strategy: use AllAtOnce, Canary<P>Percent<M>Minutes or Linear<P>PercentEvery<M>Minutes",
        ),
        ("Canary0Percent5Minutes", "'Canary0Percent5Minutes' shifts 0% at a time; use 1 to 99"),
        (
            "Linear10PercentEvery400Minutes",
            "'Linear10PercentEvery400Minutes' takes 3600 minutes; the limit is 2880",
        ),
    ],
)
def test_lambda_deploy_strategies(strategy: str, message: str | None) -> None:
    deploy = action(
        "Ship",
        "Deploy",
        "Lambda",
        configuration={"FunctionName": "f", "DeployStrategy": strategy},
        inputs=["Built"],
    )
    document = with_change(minimal(), "stages", [*minimal()["stages"], {"name": "Deploy", "actions": [deploy]}])
    expected = [] if message is None else [("stages[2].actions[0].configuration.DeployStrategy", message)]
    assert problems_of(document) == expected


def test_artifact_counts_follow_the_provider() -> None:
    no_input = with_change(minimal(), "stages[1].actions[0].inputArtifacts", [])
    assert_only_problem(
        no_input,
        "stages[1].actions[0].inputArtifacts",
        "Build/AWS/CodeBuild actions take 1 to 5 input artifacts; this one has 0",
    )
    two_outputs = with_change(minimal(), "stages[0].actions[0].outputArtifacts", [{"name": "A"}, {"name": "B"}])
    assert (
        "stages[0].actions[0].outputArtifacts",
        "Source/Custom/Git actions take exactly 1 output artifact; this one has 2",
    ) in problems_of(two_outputs)


def test_commands_belong_to_the_commands_action_only() -> None:
    with_commands = with_change(minimal(), "stages[1].actions[0].commands", ["make"])
    assert_only_problem(
        with_commands, "stages[1].actions[0].commands", "only Compute/AWS/Commands actions take commands"
    )
    commands_action = action("Run", "Compute", "Commands", inputs=["Source"])
    without = with_change(minimal(), "stages[1].actions", [commands_action])
    assert_only_problem(without, "stages[1].actions[0].commands", "is required by Compute/AWS/Commands actions")


def test_v2_only_providers_and_fields_on_a_v1_pipeline() -> None:
    commands_action = action("Run", "Compute", "Commands", inputs=["Source"], commands=["make"])
    document = {**with_change(minimal(), "stages[1].actions", [commands_action]), "pipelineType": "V1"}
    document["variables"] = [{"name": "Env", "defaultValue": "dev"}]
    document["executionMode"] = "QUEUED"
    document["stages"][1]["onFailure"] = {"result": "RETRY"}
    assert problems_of(document) == [
        ("stages[1].actions[0].actionTypeId", "Compute/AWS/Commands actions need pipelineType V2"),
        ("variables", "pipeline variables need pipelineType V2"),
        ("executionMode", "QUEUED needs pipelineType V2"),
        ("stages[1].onFailure", "stage conditions need pipelineType V2"),
    ]


def test_timeout_is_for_manual_approvals_only() -> None:
    document = with_change(minimal(), "stages[1].actions[0].timeoutInMinutes", 60)
    assert_only_problem(
        document,
        "stages[1].actions[0].timeoutInMinutes",
        "only manual approval actions take timeoutInMinutes; this is a Build/AWS/CodeBuild action",
    )


# --- artifacts --------------------------------------------------------------------------------


def test_output_artifact_names_are_unique_in_the_pipeline() -> None:
    document = with_change(minimal(), "stages[1].actions[0].outputArtifacts", [{"name": "Source"}])
    assert_only_problem(
        document,
        "stages[1].actions[0].outputArtifacts[0].name",
        "output artifact 'Source' is already produced by action 'Checkout' in stage 'Source'; "
        "output artifact names are unique in a pipeline",
    )


def test_an_input_must_be_produced_somewhere() -> None:
    document = with_change(minimal(), "stages[1].actions[0].inputArtifacts", [{"name": "Sauce"}])
    assert_only_problem(
        document,
        "stages[1].actions[0].inputArtifacts[0].name",
        "no action produces an artifact named 'Sauce' (did you mean 'Source'?)",
    )


def test_an_input_from_the_same_run_order_is_not_ready() -> None:
    # Given two builds in one runOrder, the second consuming the first's output
    document = with_change(
        minimal(),
        "stages[1].actions",
        [codebuild("Compile", output="Jar"), codebuild("Package", source="Jar")],
    )
    assert_only_problem(
        document,
        "stages[1].actions[1].inputArtifacts[0].name",
        "artifact 'Jar' comes from action 'Compile' in stage 'Build' (runOrder 1), which has not finished "
        "when action 'Package' in stage 'Build' (runOrder 1) starts",
    )
    # When the consumer runs later, Then it is fine
    later = with_change(document, "stages[1].actions[1].runOrder", 2)
    assert problems_of(later) == []


def test_an_input_from_a_later_stage_is_not_ready() -> None:
    document = with_change(
        minimal(),
        "stages",
        [*minimal()["stages"], {"name": "Test", "actions": [codebuild("T", output="Report")]}],
    )
    document = with_change(document, "stages[1].actions[0].inputArtifacts", [{"name": "Report"}])
    assert tuple(p for p, _ in problems_of(document)) == ("stages[1].actions[0].inputArtifacts[0].name",)


def test_the_same_input_twice() -> None:
    document = with_change(minimal(), "stages[1].actions[0].inputArtifacts", [{"name": "Source"}, {"name": "Source"}])
    assert_only_problem(
        document, "stages[1].actions[0].inputArtifacts[1].name", "input artifact 'Source' is listed twice"
    )


# --- namespaces and variables -----------------------------------------------------------------


def test_namespaces_are_unique_not_reserved_and_not_artifact_names() -> None:
    duplicate = with_change(minimal(), "stages[1].actions[0].namespace", "SourceVariables")
    assert_only_problem(
        duplicate,
        "stages[1].actions[0].namespace",
        "namespace 'SourceVariables' is already used by action 'Checkout' in stage 'Source'",
    )
    reserved = with_change(minimal(), "stages[1].actions[0].namespace", "codepipeline")
    assert_only_problem(
        reserved, "stages[1].actions[0].namespace", "'codepipeline' is reserved; choose another namespace"
    )
    clash = with_change(minimal(), "stages[1].actions[0].namespace", "Source")
    assert_only_problem(
        clash,
        "stages[1].actions[0].namespace",
        "namespace 'Source' is also an artifact name; they must differ",
    )


def _build_config(value: str) -> dict[str, Any]:
    return with_change(minimal(), "stages[1].actions[0].configuration.EnvironmentVariables", value)


def test_a_reference_to_an_earlier_namespace_with_a_documented_key_is_fine() -> None:
    value = '[{"name":"C","value":"#{SourceVariables.CommitId} #{codepipeline.PipelineExecutionId}"}]'
    assert problems_of(_build_config(value)) == []


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "#{SourceVars.CommitId}",
            "no action declares the namespace 'SourceVars' (did you mean 'SourceVariables'?)",
        ),
        (
            "#{SourceVariables.Commit}",
            "action 'Checkout' in stage 'Source' (Source/Custom/Git) produces AuthorDate, BranchName, CommitId, CommitMessage, CommitterDate, RepositoryName; not 'Commit'",
        ),
        (
            "#{BuildVariables.X}",
            "namespace 'BuildVariables' belongs to action 'Build' in stage 'Build', which has not finished when action 'Build' in stage 'Build' starts",
        ),
        ("#{codepipeline.PipelineName}", "the codepipeline namespace has only PipelineExecutionId"),
        ("#{variables.Env}", "no pipeline variable 'Env' is declared"),
    ],
)
def test_bad_references_name_the_reference_and_why(reference: str, message: str) -> None:
    value = f'[{{"name":"C","value":"{reference}"}}]'
    assert_only_problem(
        _build_config(value),
        "stages[1].actions[0].configuration.EnvironmentVariables",
        f"{reference}: {message}",
    )


def test_pipeline_variables_must_be_declared_and_need_v2() -> None:
    value = '[{"name":"E","value":"#{variables.Env}"}]'
    declared = {**_build_config(value), "variables": [{"name": "Env", "defaultValue": "dev"}]}
    assert problems_of(declared) == []
    v1 = {**_build_config(value), "pipelineType": "V1"}
    assert (
        "stages[1].actions[0].configuration.EnvironmentVariables",
        "#{variables.Env}: pipeline variables need pipelineType V2",
    ) in problems_of(v1)


def test_references_in_commands_use_the_commands_actions_output_variables() -> None:
    run = action(
        "Run",
        "Compute",
        "Commands",
        inputs=["Built"],
        commands=["echo hi"],
        namespace="Run",
        outputVariables=["VERSION"],
    )
    use_ok = action("Use", "Compute", "Commands", inputs=["Built"], commands=["echo #{Run.VERSION}"], runOrder=2)
    use_bad = action("Bad", "Compute", "Commands", inputs=["Built"], commands=["echo #{Run.OTHER}"], runOrder=2)
    document = with_change(
        minimal(), "stages", [*minimal()["stages"], {"name": "Run", "actions": [run, use_ok, use_bad]}]
    )
    assert_only_problem(
        document,
        "stages[2].actions[2].commands[0]",
        "#{Run.OTHER}: action 'Run' in stage 'Run' (Compute/AWS/Commands) produces VERSION; not 'OTHER'",
    )


def test_codebuild_variables_are_whatever_the_buildspec_exports() -> None:
    later = codebuild("Later", source="Built", configuration={"ProjectName": "#{BuildVariables.ANYTHING}"})
    document = with_change(minimal(), "stages", [*minimal()["stages"], {"name": "Later", "actions": [later]}])
    assert problems_of(document) == []


# --- artifact stores --------------------------------------------------------------------------


def test_artifact_store_or_stores_not_both() -> None:
    store = {"type": "S3", "location": "bucket"}
    document = {**minimal(), "artifactStore": store, "artifactStores": {"us-east-1": store}}
    assert_only_problem(document, "artifactStores", "declare artifactStore or artifactStores, not both")


def test_cross_region_actions_need_a_store_per_region() -> None:
    document = with_change(minimal(), "stages[1].actions[0].region", "eu-west-1")
    document = with_change(document, "stages[0].actions[0].region", "us-east-1")
    single = {**document, "artifactStore": {"type": "S3", "location": "bucket"}}
    assert_only_problem(
        single,
        "artifactStore",
        "actions run in several Regions (eu-west-1, us-east-1); cross-Region pipelines need artifactStores "
        "with one store per Region",
    )
    partial = {**document, "artifactStores": {"us-east-1": {"type": "S3", "location": "bucket"}}}
    assert_only_problem(partial, "artifactStores", "has no artifact store for eu-west-1")


# --- triggers ---------------------------------------------------------------------------------


def _trigger(**git: Any) -> dict[str, Any]:
    return {
        "providerType": "CodeStarSourceConnection",
        "gitConfiguration": {"sourceActionName": "Checkout", **git},
    }


def test_a_trigger_with_branch_and_path_filters_is_fine() -> None:
    push = {"branches": {"includes": ["main"]}, "filePaths": {"includes": ["src/**"]}}
    assert problems_of({**minimal(), "triggers": [_trigger(push=[push])]}) == []


@pytest.mark.parametrize(
    ("git", "path", "message"),
    [
        (
            {"sourceActionName": "Nope", "push": [{"branches": {"includes": ["main"]}}]},
            "triggers[0].gitConfiguration.sourceActionName",
            "the first stage has no action named 'Nope'",
        ),
        ({}, "triggers[0].gitConfiguration", "a trigger needs push or pullRequest filters"),
        (
            {"push": [{"filePaths": {"includes": ["a"]}}]},
            "triggers[0].gitConfiguration.push[0]",
            "a push filter needs branches or tags",
        ),
        (
            {"push": [{"branches": {}}]},
            "triggers[0].gitConfiguration.push[0].branches",
            "needs includes or excludes",
        ),
        (
            {"push": [{"branches": {"includes": ["main", "release/[0-9"]}}]},
            "triggers[0].gitConfiguration.push[0].branches.includes[1]",
            "'release/[0-9': '[' at 8 is never closed",
        ),
    ],
)
def test_bad_triggers(git: dict[str, Any], path: str, message: str) -> None:
    assert (path, message) in problems_of({**minimal(), "triggers": [_trigger(**git)]})


def test_file_path_filters_need_branches_beside_them() -> None:
    push = {"tags": {"includes": ["v*"]}, "filePaths": {"includes": ["src/**"]}}
    assert_only_problem(
        {**minimal(), "triggers": [_trigger(push=[push])]},
        "triggers[0].gitConfiguration.push[0].filePaths",
        "file path filters need a branches filter beside them",
    )


def test_one_trigger_per_source_action_and_only_on_git_sources() -> None:
    push = [{"branches": {"includes": ["main"]}}]
    twice = {**minimal(), "triggers": [_trigger(push=push), _trigger(push=push)]}
    assert_only_problem(
        twice,
        "triggers[1].gitConfiguration.sourceActionName",
        "source action 'Checkout' already has a trigger (triggers[0]); use one trigger per source action",
    )
    s3 = action("Checkout", "Source", "S3", configuration={"S3Bucket": "b", "S3ObjectKey": "k"}, outputs=["Source"])
    on_s3 = with_change({**minimal(), "triggers": [_trigger(push=push)]}, "stages[0].actions", [s3])
    assert_only_problem(
        on_s3,
        "triggers[0].gitConfiguration.sourceActionName",
        "'Checkout' is a Source/AWS/S3 action; triggers filter git pushes, so they need a CodeCommit, "
        "connection, GitHub or Git source",
    )


def test_triggers_need_v2() -> None:
    document = {**minimal(), "pipelineType": "V1", "executionMode": "SUPERSEDED"}
    document["triggers"] = [_trigger(push=[{"branches": {"includes": ["main"]}}])]
    assert_only_problem(document, "triggers", "triggers need pipelineType V2")


# --- accepted but not yet supported: warned, never silently ignored ---------------------------


def test_fields_stepline_does_not_act_on_yet_are_warned_about(tmp_path: Path) -> None:
    document = minimal()
    document["executionMode"] = "QUEUED"
    document["stages"][1]["onFailure"] = {"result": "ROLLBACK"}
    document["stages"][1]["actions"][0]["roleArn"] = "arn:aws:iam::111122223333:role/deployer"
    document["stages"][1]["actions"][0]["configuration"]["BatchEnabled"] = "true"
    report = check_file(write(tmp_path, document))
    assert report.valid
    assert [(w.path, w.message) for w in report.warnings] == [
        (
            "stages[1].actions[0].configuration.BatchEnabled",
            "BatchEnabled=true is not yet supported: a single build runs",
        ),
        ("stages[1].onFailure", "is not yet supported: it has no effect"),
        ("stages[1].actions[0].roleArn", "is not yet supported: the action runs with the stack's own role"),
    ]


def test_no_execution_mode_is_warned_about_now_that_each_is_built() -> None:
    # The reference export names SUPERSEDED; a V1 pipeline naming no mode is SUPERSEDED too
    report = check_file(EXAMPLES / "friend-reminders.json")
    assert [str(w) for w in report.warnings] == []
    for mode in ("QUEUED", "PARALLEL"):
        document = minimal()
        document.update(pipelineType="V2", executionMode=mode)
        assert not [w for w in validate(PipelineDeclaration.model_validate(document)) if w.path == "executionMode"]
    assert not [w for w in validate(PipelineDeclaration.model_validate(minimal())) if w.path == "executionMode"]
    assert json.loads((EXAMPLES / "friend-reminders.json").read_text())["pipeline"]["executionMode"] == "SUPERSEDED"
