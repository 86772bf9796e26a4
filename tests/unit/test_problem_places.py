"""A pipeline file's problems told as a person looks for them: with the stage's and action's
names and the line, in YAML and JSON; and the schema's refusals reported with the rules'
errors elsewhere, not instead of them (issue 18: `runOrder: 0` hid three others)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from stepline.definition import DefinitionError, check_file, valid_pipeline
from tests.helpers import codebuild, git_source, minimal, pipeline, with_change

BROKEN = with_change(
    with_change(minimal(), "stages[1].actions[0].runOrder", 0),
    "stages[1].actions[0].configuration",
    {"Projectname": "p"},
)


def written(tmp_path: Path, document: object, suffix: str) -> Path:
    path = tmp_path / f"pipeline{suffix}"
    text = yaml.safe_dump(document, sort_keys=False) if suffix == ".yaml" else json.dumps(document, indent=2)
    path.write_text(text)
    return path


def line_of(path: Path, needle: str) -> int:
    return next(number for number, text in enumerate(path.read_text().splitlines(), 1) if needle in text)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_schema_refusal_and_the_rules_errors_are_reported_together_with_names_and_lines(
    tmp_path: Path, suffix: str
) -> None:
    # Given a file whose Build action has runOrder 0 (the schema refuses it) and a misspelt
    # configuration key (a rule error the schema's refusal used to hide)
    path = written(tmp_path, BROKEN, suffix)
    # When it is checked
    report = check_file(path)
    # Then both kinds are there, each placed at its stage, action and line
    assert not report.valid
    found = {(p.path, p.where) for p in report.errors}
    action = BROKEN["stages"][1]["actions"][0]["name"]
    # A missing key is placed where its mapping starts: JSON's "{" on the key's line, YAML's first entry
    configuration = line_of(path, "Projectname") - (1 if suffix == ".json" else 0)
    assert found == {
        ("stages[1].actions[0].runOrder", f"stage Build, action {action}, line {line_of(path, 'runOrder')}"),
        (
            "stages[1].actions[0].configuration.ProjectName",
            f"stage Build, action {action}, line {configuration}",
        ),
        (
            "stages[1].actions[0].configuration.Projectname",
            f"stage Build, action {action}, line {line_of(path, 'Projectname')}",
        ),
    }
    # And the rules say nothing about the refused value itself (its default stood in for it)
    assert [p.message for p in report.errors if p.path.endswith("runOrder")] == ["is 0; it must be at least 1"]


def test_the_api_path_reports_the_rules_errors_beside_the_schemas_too() -> None:
    with pytest.raises(DefinitionError) as raised:
        valid_pipeline(BROKEN, "request")
    assert sorted(p.path for p in raised.value.problems) == [
        "stages[1].actions[0].configuration.ProjectName",
        "stages[1].actions[0].configuration.Projectname",
        "stages[1].actions[0].runOrder",
    ]


def test_a_missing_required_field_still_stops_at_the_schema(tmp_path: Path) -> None:
    # Given an action with no name (required: nothing stands in for it)
    document = pipeline(("Source", [git_source()]), ("Build", [codebuild("Build")]))
    del document["stages"][1]["actions"][0]["name"]
    # When checked, Then the schema's error alone is reported, placed in its stage
    [problem] = check_file(written(tmp_path, document, ".yaml")).errors
    assert problem.path == "stages[1].actions[0].name"
    assert problem.where.startswith("stage Build, line ")


def test_a_problem_outside_any_stage_names_its_line_only(tmp_path: Path) -> None:
    document = with_change(minimal(), "name", "bad name!")
    path = written(tmp_path, document, ".yaml")
    [problem] = check_file(path).errors
    assert (problem.path, problem.where) == ("name", f"line {line_of(path, 'bad name!')}")
    assert problem.described == f"{problem}  [line {line_of(path, 'bad name!')}]"
