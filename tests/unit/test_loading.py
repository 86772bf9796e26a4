"""Reading pipeline files: get-pipeline JSON unchanged, YAML of the same shape, and bad input."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from stepline.definition import DefinitionError, check_file, load_valid_pipeline
from stepline.definition.loader import load_pipeline
from tests.helpers import EXAMPLES, SHARED_REFERENCE, minimal, with_change, write


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_sockets_are_refused_in_unit_tests() -> None:
    # Given the unit-test guard, When a test opens a socket, Then it is refused.
    with pytest.raises(RuntimeError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_reference_export_is_accepted_unchanged_and_every_field_survives() -> None:
    # Given the real get-pipeline export
    document = json.loads((EXAMPLES / "friend-reminders.json").read_text())
    # When it is loaded
    loaded = load_valid_pipeline(EXAMPLES / "friend-reminders.json")
    # Then nothing was dropped: the model gives back exactly the declaration it read
    assert loaded.path_prefix == "pipeline"
    assert loaded.metadata["pipelineArn"] == "arn:aws:codepipeline:us-east-1:111122223333:FriendReminders"
    assert loaded.pipeline.model_dump(by_alias=True, exclude_unset=True, mode="json") == document["pipeline"]


@pytest.mark.skipif(not SHARED_REFERENCE.exists(), reason="the shared reference folder sits beside CI's clone")
def test_example_is_the_shared_reference_file() -> None:
    assert (EXAMPLES / "friend-reminders.json").read_bytes() == SHARED_REFERENCE.read_bytes()


def test_bare_declaration_and_yaml_equal_the_wrapped_json(tmp_path: Path) -> None:
    # Given the same declaration three ways
    document = json.loads((EXAMPLES / "friend-reminders.json").read_text())
    bare = write(tmp_path, document["pipeline"], "bare.json")
    as_yaml = write(tmp_path, document, "wrapped.yaml")
    # When each is loaded, Then they are one pipeline
    wrapped = load_valid_pipeline(EXAMPLES / "friend-reminders.json").pipeline
    assert load_valid_pipeline(bare).pipeline == wrapped
    assert load_valid_pipeline(as_yaml).pipeline == wrapped


def test_yaml_booleans_and_numbers_in_configuration_are_read_as_codepipeline_strings(tmp_path: Path) -> None:
    # Given YAML where configuration values were written unquoted
    path = tmp_path / "p.yaml"
    path.write_text(
        """
name: unquoted
stages:
  - name: Source
    actions:
      - name: Source
        actionTypeId: {category: Source, owner: AWS, provider: CodeCommit, version: 1}
        configuration: {RepositoryName: app, BranchName: 2024, PollForSourceChanges: false}
        outputArtifacts: [{name: Src}]
  - name: Build
    actions:
      - name: Build
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: "1"}
        configuration: {ProjectName: app}
        inputArtifacts: [{name: Src}]
"""
    )
    # When it is validated
    report = check_file(path)
    # Then the values are the strings CodePipeline would have stored, and the file is valid
    assert report.valid, report.problems
    assert report.loaded is not None
    configuration = report.loaded.pipeline.stages[0].actions[0].configuration
    assert configuration["BranchName"] == "2024"
    assert configuration["PollForSourceChanges"] == "false"
    assert report.loaded.pipeline.stages[0].actions[0].action_type_id.version == "1"


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("name: x\n  stages: [", "p.yaml", "is not valid YAML: line 2, column 9"),
        ('{"name": "x",\n "stages": }', "p.json", "is not valid JSON: line 2, column 12"),
        ("[1, 2]", "p.json", "must be a JSON/YAML object holding a pipeline declaration, not a list"),
        ('"pipeline"', "p.json", "not a string"),
        ("", "p.yaml", "not an empty document"),
        ('{"name": "a", "name": "b"}', "p.json", "the key 'name' appears twice"),
        ("name: a\nstages: []\nname: b\n", "p.yaml", "line 3, column 1: the key 'name' appears twice"),
    ],
)
def test_unreadable_documents_are_refused_with_where_and_why(
    tmp_path: Path, text: str, name: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DefinitionError) as caught:
        load_pipeline(path)
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file_directory_and_binary_are_named(tmp_path: Path) -> None:
    binary = tmp_path / "p.yaml"
    binary.write_bytes(b"\xff\xfe\x00name")
    assert "no such file" in check_file(tmp_path / "absent.yaml").problems[0].message
    assert "is a directory" in check_file(tmp_path).problems[0].message
    assert "is not UTF-8 text" in check_file(binary).problems[0].message


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(" " * (5 * 1024 * 1024 + 1))
    assert "may be at most 5,242,880" in check_file(path).problems[0].message


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"stages": {"name": "x"}}, "stages", "must be a list, not dict"),
        ({"version": "one"}, "version", "must be a whole number, not a string"),
        ({"pipelineType": "V3"}, "pipelineType", "'V3' is not one of 'V1' or 'V2'"),
        (
            {"name": "my pipeline"},
            "name",
            "'my pipeline' is not allowed here: use only letters, digits and . @ - _",
        ),
        ({"name": "p" * 101}, "name", "is 101 characters long; the limit is 100"),
        ({"stage": []}, "stage", "is not a field of a CodePipeline declaration (did you mean 'stages'?)"),
        ({"roleArn": "role/x"}, "roleArn", "use an IAM role ARN"),
    ],
)
def test_wrong_shapes_name_the_field_and_the_problem(
    tmp_path: Path, change: dict[str, object], path: str, message: str
) -> None:
    document = {**minimal(), **change}
    report = check_file(write(tmp_path, document))
    assert not report.valid
    assert any(p.path == path and message in p.message for p in report.problems), report.problems


def test_every_structural_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    document = minimal()
    document["stages"][0]["actions"][0]["runOrder"] = 0
    document["stages"][1]["actions"][0]["configuration"] = {"ProjectName": ["a", "list"]}
    del document["stages"][1]["name"]
    report = check_file(write(tmp_path, document))
    paths = {p.path for p in report.problems}
    assert paths == {
        "stages[0].actions[0].runOrder",
        "stages[1].actions[0].configuration.ProjectName",
        "stages[1].name",
    }
    messages = {p.path: p.message for p in report.problems}
    assert messages["stages[0].actions[0].runOrder"] == "is 0; it must be at least 1"
    assert messages["stages[1].name"] == "is required"


def test_paths_in_a_wrapped_document_start_at_pipeline(tmp_path: Path) -> None:
    document = {"pipeline": {**minimal(), "stages": minimal()["stages"][:1]}, "metadata": {}}
    report = check_file(write(tmp_path, document))
    assert [str(p) for p in report.errors] == ["pipeline.stages: has 1 stages; a pipeline has 2 to 50"]


@pytest.mark.parametrize(
    ("path", "value", "expected_path", "message"),
    [
        (
            "stages[1].actions[0].configuration.ProjectName",
            "p" * 1001,
            "stages[1].actions[0].configuration.ProjectName",
            "is 1001 characters long; the limit is 1000",
        ),
        (
            "stages[1].actions[0].configuration",
            {"K" * 51: "v", "ProjectName": "p"},
            f"stages[1].actions[0].configuration.{'K' * 51}",
            "is 51 characters long; the limit is 50",
        ),
        (
            "stages[1].actions[0].configuration.ProjectName",
            "",
            "stages[1].actions[0].configuration.ProjectName",
            "must not be empty",
        ),
        (
            "stages[1].actions[0].timeoutInMinutes",
            4,
            "stages[1].actions[0].timeoutInMinutes",
            "is 4; it must be at least 5",
        ),
        (
            "stages[1].actions[0].namespace",
            "Build.Vars",
            "stages[1].actions[0].namespace",
            "'Build.Vars' is not allowed here: use only letters, digits and @ - _",
        ),
        (
            "stages[1].actions[0].inputArtifacts[0].name",
            "my artifact",
            "stages[1].actions[0].inputArtifacts[0].name",
            "'my artifact' is not allowed here: use only letters, digits, - and _",
        ),
        (
            "stages[1].actions[0].actionTypeId.category",
            "Ship",
            "stages[1].actions[0].actionTypeId.category",
            "'Ship' is not one of 'Source', 'Build', 'Deploy', 'Test', 'Invoke', 'Approval' or 'Compute'",
        ),
        (
            "stages[1].actions[0].runOrder",
            1000,
            "stages[1].actions[0].runOrder",
            "is 1000; it must be at most 999",
        ),
        (
            "variables",
            [{"name": f"V{i}"} for i in range(51)],
            "variables",
            "has 51 items; at most 50 are allowed",
        ),
        (
            "triggers",
            [
                {
                    "providerType": "CodeStarSourceConnection",
                    "gitConfiguration": {
                        "sourceActionName": "Checkout",
                        "push": [{"branches": {"includes": [f"b{i}" for i in range(9)]}}],
                    },
                }
            ],
            "triggers[0].gitConfiguration.push[0].branches.includes",
            "has 9 items; at most 8 are allowed",
        ),
        (
            "triggers",
            [
                {
                    "providerType": "CodeStarSourceConnection",
                    "gitConfiguration": {
                        "sourceActionName": "Checkout",
                        "pullRequest": [{"events": ["MERGED"]}],
                    },
                }
            ],
            "triggers[0].gitConfiguration.pullRequest[0].events[0]",
            "'MERGED' is not one of 'OPEN', 'UPDATED' or 'CLOSED'",
        ),
        (
            "triggers",
            [{"providerType": "GitHub", "gitConfiguration": {"sourceActionName": "Checkout"}}],
            "triggers[0].providerType",
            "'GitHub' is not allowed here: use the pattern ^CodeStarSourceConnection$",
        ),
    ],
)
def test_codepipeline_limits_on_single_fields(
    tmp_path: Path, path: str, value: object, expected_path: str, message: str
) -> None:
    report = check_file(write(tmp_path, with_change(minimal(), path, value)))
    assert (expected_path, message) in [(p.path, p.message) for p in report.problems], report.problems
