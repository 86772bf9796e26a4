"""What a provider entry says, and the small value checks entries share (stepline.definition.providers
and deploy_providers hold the entries)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# A value check returns None when the value is fine, else a sentence saying what is wrong.
ValueCheck = Callable[[str], str | None]
# A check of the whole configuration (keys that depend on each other), given the action's input
# artifact names: (key, problem) pairs, the key naming where the problem is.
ConfigurationCheck = Callable[[Mapping[str, str], list[str]], list[tuple[str, str]]]


class Integration(StrEnum):
    # lambda:invoke — the handler returns the action's result.
    INVOKE = "invoke"
    # lambda:invoke.waitForTaskToken — the handler starts work; completion arrives later
    # (a CodeBuild or ECS event, an approval) through SendTaskSuccess/Failure.
    CALLBACK = "callback"
    # states:startExecution.sync:2 — a static state machine from statemachines/ does the work.
    NESTED = "nested"


@dataclass(frozen=True)
class Provider:
    category: str
    owner: str
    provider: str
    summary: str
    handler: str  # placeholder naming the Lambda function or state machine that runs it
    integration: Integration
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    inputs: tuple[int, int] = (0, 0)
    outputs: tuple[int, int] = (0, 0)
    # None: the action decides its variables at run time (a buildspec's exported-variables).
    output_variables: frozenset[str] | None = frozenset()
    versions: frozenset[str] = frozenset({"1"})
    v2_only: bool = False
    takes_commands: bool = False
    stepline_only: bool = False
    timeout_minutes: int = 60
    value_checks: Mapping[str, ValueCheck] = field(default_factory=dict)
    # Values accepted but not acted on yet: key → (value, what Stepline does instead).
    not_yet_supported: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    configuration_check: ConfigurationCheck | None = None
    # It acts on an AWS account from either runtime (locally: with credentials, or an emulator).
    acts_on_aws: bool = False
    # A custom action type's job: its configuration keys are the type's, registered at run time.
    open_configuration: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.category, self.owner, self.provider)

    @property
    def type_name(self) -> str:
        return f"{self.category}/{self.owner}/{self.provider}"

    @property
    def known_keys(self) -> frozenset[str]:
        return self.required | self.optional


def one_of(*allowed: str) -> ValueCheck:
    def check(value: str) -> str | None:
        if value in allowed:
            return None
        return f"{value!r} is not one of {', '.join(allowed)}"

    return check


def boolean(value: str) -> str | None:
    if value.lower() in {"true", "false"}:
        return None
    return f"{value!r} is not true or false"


def minutes(low: int, high: int) -> ValueCheck:
    def check(value: str) -> str | None:
        if value.isdigit() and low <= int(value) <= high:
            return None
        return f"{value!r} is not a whole number of minutes from {low} to {high}"

    return check
