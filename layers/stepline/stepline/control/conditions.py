"""Stage conditions evaluated by the stage gate: ``beforeEntry`` (results FAIL and SKIP) and
``onSuccess`` (result FAIL), with the rules ``VariableCheck`` (CodePipeline's
"rule-reference-VariableCheck": Operator EQ, NE, CONTAINS or MATCHES, Variable a
``#{namespace.key}`` reference, Value) and ``CloudWatchAlarm`` (AlarmName; AlarmStates, default
ALARM: the rule fails while the alarm is in one of them; WaitTime is not waited for yet). A
condition passes only if every one of its rules does. The variables come in the gate's request,
the alarms' states through the ``Alarms`` port."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stepline.actions.errors import ActionError
from stepline.control.cron import Cron
from stepline.definition.models import Condition, RuleDeclaration
from stepline.definition.variables import resolve
from stepline.errors import ConfigurationError
from stepline.ports.control import Alarms

_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "EQ": lambda variable, value: variable == value,
    "NE": lambda variable, value: variable != value,
    "CONTAINS": lambda variable, value: value in variable,
    "MATCHES": lambda variable, value: re.search(value, variable) is not None,
}
SUPPORTED = frozenset({"VariableCheck", "CloudWatchAlarm", "DeploymentWindow"})
HOLD_SECONDS = 3600  # a closed window is looked at again at least this often


class ConditionFailed(ActionError):
    """A stage's condition did not pass and its result is FAIL (the error Step Functions sees)."""


@dataclass(frozen=True)
class Verdict:
    passed: bool
    result: str  # what the stage does when the condition does not pass: FAIL or SKIP
    summary: str  # which rules failed, and why
    wait: int = 0  # a DeploymentWindow is closed: look again in this many seconds (the stage is held)


def check(
    condition: Condition,
    variables: Mapping[str, Mapping[str, str]],
    alarms: Alarms | None = None,
    now: float | None = None,
) -> Verdict:
    """Whether every rule passes. A closed DeploymentWindow holds the stage (``wait``) rather
    than applying the result: the gate looks again when it opens."""
    windows = [_window(rule, now) for rule in condition.rules if rule.rule_type_id.provider == "DeploymentWindow"]
    closed = [seconds for seconds, _ in windows if seconds]
    failed = [reason for rule in condition.rules if (reason := _rule(rule, variables, alarms))]
    failed += [reason for seconds, reason in windows if seconds]
    result = condition.result.value if condition.result is not None else "FAIL"
    return Verdict(not failed, result, "; ".join(failed), min(max(closed), HOLD_SECONDS) if closed else 0)


def _rule(rule: RuleDeclaration, variables: Mapping[str, Mapping[str, str]], alarms: Alarms | None) -> str:
    """Why the rule failed; empty when it passed."""
    provider = rule.rule_type_id.provider
    if provider not in SUPPORTED:
        raise ConfigurationError(f"rule {rule.name}: {provider} rules are not supported yet")
    configuration = rule.configuration
    if provider == "CloudWatchAlarm":
        return _alarm(rule, alarms)
    if provider == "DeploymentWindow":
        return ""  # read by ``_window``
    operator = configuration.get("Operator", "")
    if operator not in _OPERATORS:
        raise ConfigurationError(f"rule {rule.name}: Operator {operator!r} is not one of {', '.join(_OPERATORS)}")
    actual = resolve(configuration.get("Variable", ""), variables)
    expected = configuration.get("Value", "")
    if _OPERATORS[operator](actual, expected):
        return ""
    return f"{rule.name}: {actual!r} {operator} {expected!r} is false"


def _alarm(rule: RuleDeclaration, alarms: Alarms | None) -> str:
    if alarms is None:
        raise ConfigurationError(f"rule {rule.name}: no alarms can be read here")
    names = [name.strip() for name in rule.configuration.get("AlarmName", "").split(",") if name.strip()]
    watched = {state.strip() for state in rule.configuration.get("AlarmStates", "ALARM").split(",") if state.strip()}
    states = alarms.states(names)
    missing = [name for name in names if name not in states]
    if missing:
        return f"{rule.name}: no alarm named {', '.join(missing)}"
    firing = [f"{name} is {states[name]}" for name in names if states[name] in watched]
    return f"{rule.name}: {'; '.join(firing)}" if firing else ""


def _window(rule: RuleDeclaration, now: float | None) -> tuple[int, str]:
    """Seconds until the rule's window opens (0 when open) and why it holds."""
    zone_name = rule.configuration.get("TimeZone", "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"rule {rule.name}: TimeZone {zone_name!r} is not a time zone") from None
    moment = datetime.fromtimestamp(time.time() if now is None else now, zone)
    seconds = Cron(rule.configuration.get("Cron", "")).opens_in(moment)
    if seconds is None:
        raise ConfigurationError(f"rule {rule.name}: its deployment window never opens in the next five years")
    return seconds, f"{rule.name}: outside the deployment window, which opens in {seconds} s" if seconds else ""
