"""The stepline command: exit codes, output formats, and no traceback for any input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepline.cli import main
from tests.helpers import EXAMPLES, GOLDEN, minimal, with_change, write


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_accepts_every_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", *map(str, sorted(EXAMPLES.iterdir())))
    assert code == 0
    assert "friend-reminders.json: valid — FriendReminders, 3 stages, 3 actions" in out
    assert "executionMode" not in out  # SUPERSEDED is built: no warning


def test_validate_reports_every_error_with_its_path_and_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    document = with_change(minimal(), "stages[1].actions[0].configuration", {})
    document = with_change(document, "stages[1].name", "Source")
    bad = write(tmp_path, document)
    code, out, _ = run(capsys, "validate", str(bad), str(EXAMPLES / "local-demo.yaml"))
    assert code == 2
    assert f"{bad}: invalid — 2 errors" in out
    assert "  error: stages[1].name: stage name 'Source' is already used by stages[0]" in out
    assert "  error: stages[1].actions[0].configuration.ProjectName: is required by Build/AWS/CodeBuild actions" in out
    assert "local-demo.yaml: valid" in out


def test_validate_json_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = write(tmp_path, with_change(minimal(), "stages[1].actions[0].runOrder", 1000))
    code, out, _ = run(capsys, "validate", "--output", "json", str(bad))
    # where the problem is: the action's name, and the line its runOrder is on in the file written
    name = minimal()["stages"][1]["actions"][0]["name"]
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if "runOrder" in text)
    assert code == 2
    assert json.loads(out) == [
        {
            "file": str(bad),
            "valid": False,
            "errors": [
                {
                    "path": "stages[1].actions[0].runOrder",
                    "message": "is 1000; it must be at most 999",
                    "severity": "error",
                    "where": f"stage Build, action {name}, line {line}",
                }
            ],
            "warnings": [],
        }
    ]


def test_compile_writes_the_golden_definition(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "out.asl.json"
    code, out, err = run(capsys, "compile", str(EXAMPLES / "friend-reminders.json"), "-o", str(out_file))
    assert code == 0
    assert out == ""
    assert "placeholders to fill: BuildFunctionArn, DeployEcsFunctionArn, SourceFunctionArn" in err
    assert out_file.read_text() == (GOLDEN / "friend-reminders.asl.json").read_text()
    code, out, _ = run(capsys, "compile", str(EXAMPLES / "friend-reminders.json"))
    assert out == (GOLDEN / "friend-reminders.asl.json").read_text()


def test_compile_refuses_an_invalid_pipeline_on_stderr(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = write(tmp_path, {**minimal(), "stages": minimal()["stages"][:1]})
    code, out, err = run(capsys, "compile", str(bad))
    assert (code, out) == (2, "")
    assert "error: stages: has 1 stages; a pipeline has 2 to 50" in err


def test_compile_to_an_unwritable_place(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "compile", str(EXAMPLES / "local-demo.yaml"), "-o", str(tmp_path / "no" / "dir.json"))
    assert code == 2
    assert "cannot write" in err


def test_graph_draws_a_pipeline_naming_the_providers_stepline_does_not_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a valid-shaped pipeline deploying with an AWS provider Stepline does not run
    appconfig = {
        "name": "Configure",
        "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "AppConfig", "version": "1"},
        "configuration": {"Application": "app"},
        "inputArtifacts": [{"name": "Built"}],
    }
    document = minimal()
    document["stages"].append({"name": "Configure", "actions": [appconfig]})
    path = write(tmp_path, document, "appconfig.json")
    # When it is drawn, Then it is, with that action named as not run
    code, out, _ = run(capsys, "graph", str(path))
    assert code == 0
    assert any(
        "Configure" in line and "Deploy/AWS/AppConfig" in line and "✗ not run by Stepline" in line
        for line in out.splitlines()
    )
    code, out, _ = run(capsys, "graph", "--format", "mermaid", str(path))
    assert "Deploy/AWS/AppConfig</small><br/><small>not run by Stepline</small>" in out
    # And validate still refuses it, naming the provider
    code, out, err = run(capsys, "validate", str(path))
    assert code == 2
    assert "Deploy/AWS/AppConfig is not an action type Stepline runs" in out + err
    # And a pipeline broken in another way is not drawn
    broken = with_change(document, "stages[1].actions[0].inputArtifacts", [{"name": "Nowhere"}])
    code, out, err = run(capsys, "graph", str(write(tmp_path, broken, "broken.json")))
    assert code == 2
    assert "Nowhere" in out + err


def test_graph_text_and_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "graph", str(EXAMPLES / "release-v2.yaml"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "payments-release · V2 · PARALLEL · 3 stages, 5 actions"
    assert [line for line in lines if line.startswith("●")] == ["● Source", "● Build", "● Release"]
    assert any("1 ┬ Image" in line for line in lines)
    assert any("└ UnitTests" in line for line in lines)
    assert any("2 ─ Announce" in line and "in: Image" in line for line in lines)
    code, out, _ = run(capsys, "graph", "--format", "mermaid", str(EXAMPLES / "release-v2.yaml"))
    assert out.startswith("flowchart LR\n")
    # both parallel builds follow the source, and both lead to the approval
    for edge in ("s0a0 --> s1a0", "s0a0 --> s1a1", "s1a0 --> s2a0", "s1a1 --> s2a0", "s2a0 --> s2a1"):
        assert f"  {edge}" in out


def test_schema_accepts_every_example_and_rejects_a_typo(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0
    for example in sorted(EXAMPLES.iterdir()):
        text = example.read_text()
        document = json.loads(text) if example.suffix == ".json" else yaml.safe_load(text)
        jsonschema.validate(document, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**minimal(), "stage": []}, schema)


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["graph"])
    assert caught.value.code == 2
    assert "the following arguments are required: FILE" in capsys.readouterr().err


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def _mutations() -> st.SearchStrategy[dict[str, Any]]:
    paths = [
        "name",
        "stages",
        "stages[0]",
        "stages[0].actions",
        "stages[0].actions[0]",
        "stages[0].actions[0].actionTypeId",
        "stages[0].actions[0].configuration",
        "stages[1].actions[0].runOrder",
        "stages[1].actions[0].inputArtifacts",
        "stages[1].actions[0].namespace",
        "pipelineType",
        "triggers",
        "variables",
    ]
    return st.builds(lambda path, value: with_change(minimal(), path, value), st.sampled_from(paths), JSON_VALUES)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.one_of(JSON_VALUES, _mutations()))
def test_no_input_produces_a_traceback(
    document: Any, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given any JSON value, or a valid pipeline with one part replaced by any JSON value
    path = write(tmp_path_factory.mktemp("fuzz"), document)
    for command in ("validate", "compile"):
        # When a command reads it, Then it either succeeds or exits 2 with a message: never crashes
        code = main([command, str(path)])
        out, err = capsys.readouterr()
        assert code in (0, 2), err
        assert "Traceback" not in out + err
        assert "unexpected" not in err
