"""Typed settings per runtime: read once, failing at once naming the variable; the local runtime
gives its handlers their settings and never rewrites os.environ."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stepline import settings as configuration
from stepline import wiring
from stepline.errors import ConfigurationError
from stepline.local.runtime import LocalRuntime
from stepline.settings import AwsSettings, LocalSettings, read_settings, settings

# What template.yaml's Globals give every function.
GLOBALS = {"STEPLINE_RUNTIME": "aws", "ARTIFACT_BUCKET": "stepline-artifacts", "TASK_TOKENS_TABLE": "tokens"}


@pytest.mark.parametrize("missing", ["ARTIFACT_BUCKET", "TASK_TOKENS_TABLE"])
@pytest.mark.parametrize("absent_as", [None, ""])
def test_a_required_value_missing_fails_when_the_settings_are_read(missing: str, absent_as: str | None) -> None:
    # Given a function's environment without one of the values every function needs (or empty)
    environment = {name: value for name, value in GLOBALS.items() if name != missing}
    if absent_as is not None:
        environment[missing] = absent_as
    # When the settings are read (a cold start), Then that fails there, naming the variable
    with pytest.raises(ConfigurationError, match=f"^{missing} is not set: the stack sets it"):
        read_settings(environment)


def test_defaults_come_from_the_model_and_variables_override_them() -> None:
    # Given only the required values, When read, Then every other field has the model's default
    read = read_settings(GLOBALS)
    assert isinstance(read, AwsSettings)
    defaults = {name: field.default for name, field in AwsSettings.model_fields.items() if not field.is_required()}
    assert {name: getattr(read, name) for name in defaults} == defaults
    # And a variable given wins over its default; an empty optional one counts as not given
    given = read_settings({**GLOBALS, "SWEEP_AFTER_SECONDS": "60", "AWS_REGION": "eu-west-1", "COMMANDS_PROJECT": ""})
    assert (given.sweep_after_seconds, given.region, given.commands_project) == (60, "eu-west-1", None)


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({**GLOBALS, "STEPLINE_RUNTIME": "lambda"}, "STEPLINE_RUNTIME 'lambda': must be aws or local"),
        ({**GLOBALS, "SWEEP_AFTER_SECONDS": "soon"}, "SWEEP_AFTER_SECONDS: Input should be a valid integer"),
        ({**GLOBALS, "SWEEP_AFTER_SECONDS": "0"}, "SWEEP_AFTER_SECONDS: Input should be greater than 0"),
        ({"STEPLINE_RUNTIME": "local", "STEPLINE_FUNCTIONS": "notify"}, "STEPLINE_FUNCTIONS 'notify': write NAME="),
    ],
)
def test_a_malformed_value_is_refused_naming_its_variable(environment: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        read_settings(environment)


def test_every_field_is_set_by_a_named_variable() -> None:
    # Given both runtimes' models; Then each field but the runtime itself has its variable
    fields = {*AwsSettings.model_fields, *LocalSettings.model_fields} - {"runtime"}
    assert fields == set(configuration.VARIABLES)


def test_a_local_runtime_gives_handlers_their_settings_and_leaves_the_environment_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a process configured as a Lambda function would be
    for name, value in GLOBALS.items():
        monkeypatch.setenv(name, value)
    for name in ("STEPLINE_DATA", "STEPLINE_RELEASES"):
        monkeypatch.delenv(name, raising=False)
    wiring.reset()
    before = dict(os.environ)
    # When two local runtimes open, and close in the order they opened (the order that once
    # wrote the first one's STEPLINE_RUNTIME=local back into os.environ)
    first = LocalRuntime(tmp_path / "one", workers=0, runs_executions=False)
    second = LocalRuntime(tmp_path / "two", workers=0, runs_executions=False, environment={"STEPLINE_SOURCES": "A=a"})
    inside = settings()
    first.close()
    after_first = settings()
    second.close()
    # Then the handlers saw the newest runtime's settings while it was open, the other's never
    assert isinstance(inside, LocalSettings)
    assert (inside.data, inside.sources) == ((tmp_path / "two").resolve(), {"A": "a"})
    assert after_first is inside
    # And the environment was never rewritten: the process is back on its own settings
    assert dict(os.environ) == before
    assert isinstance(settings(), AwsSettings)
    wiring.reset()
