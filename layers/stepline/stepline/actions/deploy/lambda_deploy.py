"""Deploy/AWS/Lambda, as CodePipeline's V2 Lambda deploy action does it.

The steps run from statemachines/lambda_deploy.asl.json, a static state machine the pipeline
starts as a nested execution (Step Functions on AWS, the embedded engine locally):

- ``prepare``: update the function's code from the input artifact and publish a version (or
  take ``PublishedTargetVersion``); note the alias's current version, the rollback target;
  plan the shift from ``DeployStrategy``. The update is waited for a bounded time: a longer one
  fails the step as transient, and the state machine's retry waits again without updating
  again. A retried attempt reuses the version it published.
- ``shift``: route the next share of the alias's traffic to the new version; 100% promotes it.
- ``check``: which of the ``Alarms`` are in ALARM after the bake time.
- ``rollback``: all traffic back to the previous version — after an alarm, or after a shift or
  check that failed part-way (the alias is never left split between two versions).
"""

from __future__ import annotations

import json
import re
from typing import Any

from stepline.actions.artifacts import fetched_input
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.deployments import LambdaFunctions
from stepline.ports.records import Records

_CANARY = re.compile(r"^Canary(\d+)Percent(\d+)Minutes?$")
_LINEAR = re.compile(r"^Linear(\d+)PercentEvery(\d+)Minutes?$")


def plan_shift(strategy: str) -> tuple[list[int], int]:
    """(traffic percentages in order, seconds to bake after each step short of 100)."""
    if strategy in {"", "AllAtOnce"}:
        return [100], 0
    if match := _CANARY.match(strategy):
        return [int(match[1]), 100], int(match[2]) * 60
    if match := _LINEAR.match(strategy):
        step = int(match[1])
        return [min(100, step * n) for n in range(1, -(-100 // step) + 1)], int(match[2]) * 60
    raise ConfigurationError(
        f"DeployStrategy {strategy!r} is not AllAtOnce, Canary<P>Percent<M>Minutes or Linear<P>PercentEvery<M>Minutes"
    )


def _image_uri(request: ActionRequest, store: ArtifactStore, label: str) -> str | None:
    """An artifact holding imageDetail.json ({"ImageURI": ...}) deploys that container image."""
    with fetched_input(request, store, label) as (_, folder):
        detail = folder / "imageDetail.json"
        if not detail.is_file():
            return None
        try:
            uri = json.loads(detail.read_text(encoding="utf-8")).get("ImageURI")
        except (json.JSONDecodeError, AttributeError):
            uri = None
        if not isinstance(uri, str) or not uri:
            raise ArtifactError(f'{label}: imageDetail.json must be a JSON object with a string "ImageURI"')
        return uri


def prepare(
    event: dict[str, Any], lambdas: LambdaFunctions, records: Records, store: ArtifactStore | None = None
) -> dict[str, Any]:
    request = ActionRequest.model_validate(event)
    label = request.label
    key = f"{request.execution.id}/{label}"
    earlier = (records.get(key) or {}).get("plan")
    if isinstance(earlier, dict):
        return {str(k): v for k, v in earlier.items()}  # a retried attempt: the version is already published
    configuration = request.configuration()
    function = configuration["FunctionName"]
    alias = configuration.get("FunctionAlias") or None
    weights, bake = plan_shift(configuration.get("DeployStrategy", ""))
    if configuration.get("PublishedTargetVersion"):
        target = configuration["PublishedTargetVersion"]
    else:
        if not request.action.input_artifacts:
            raise ConfigurationError(f"{label}: needs an input artifact with the code, or PublishedTargetVersion")
        name = request.action.input_artifacts[0].name
        reference = request.artifacts.get(name)
        if reference is None:
            raise ConfigurationError(f"{label}: input artifact {name!r} was not produced in this execution")
        if not (records.get(key) or {}).get("updating"):
            image = _image_uri(request, store, label) if store is not None else None
            if image:
                lambdas.update_image(function, image)
            else:
                lambdas.update_code(function, reference)
            records.put(key, {"updating": True})  # a retried attempt waits; it does not update again
        lambdas.wait_updated(function)
        target = lambdas.publish(function, f"{request.pipeline} {request.execution.name}")
    previous = lambdas.alias_version(function, alias) if alias else ""
    if previous == target:
        weights, bake = [100], 0
    plan = {
        "label": label,
        "function": function,
        "alias": alias,
        "previous": previous,
        "target": target,
        "weights": weights,
        "index": 0,
        "waitSeconds": bake,
        "alarms": [name.strip() for name in configuration.get("Alarms", "").split(",") if name.strip()],
        "complete": alias is None,
    }
    records.put(key, {"plan": plan})
    return plan


def shift(plan: dict[str, Any], lambdas: LambdaFunctions) -> dict[str, Any]:
    weight = plan["weights"][plan["index"]]
    if weight >= 100:
        lambdas.promote(plan["function"], plan["alias"], plan["target"])
    else:
        lambdas.route(plan["function"], plan["alias"], plan["previous"], plan["target"], weight / 100)
    return {**plan, "index": plan["index"] + 1, "complete": weight >= 100, "current": weight}


def check(plan: dict[str, Any], lambdas: LambdaFunctions) -> dict[str, Any]:
    return {"alarming": lambdas.alarming(list(plan["alarms"])) if plan["alarms"] else []}


def rollback(
    plan: dict[str, Any], alarming: list[str], lambdas: LambdaFunctions, failure: dict[str, Any] | None = None
) -> dict[str, str]:
    lambdas.promote(plan["function"], plan["alias"], plan["previous"])
    if failure is not None:
        error = str(failure.get("Error", "Error"))
        reason = _failure_message(failure.get("Cause"))
        what = f"shifting traffic failed ({error}: {reason})"
    else:
        what = f"alarm {', '.join(alarming)} fired"
    return {
        "cause": f"{plan['label']}: {what} with {plan.get('current', 0)}% of traffic on "
        f"version {plan['target']}; {plan['alias']} is back on version {plan['previous']}"
    }


def _failure_message(cause: Any) -> str:
    """A Catch's Cause: Lambda's error JSON (its errorMessage) or plain text."""
    text = str(cause or "no cause given")
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError:
        return text
    return str(loaded.get("errorMessage", text)) if isinstance(loaded, dict) else text


def run_step(
    event: dict[str, Any], lambdas: LambdaFunctions, records: Records, store: ArtifactStore | None = None
) -> dict[str, Any]:
    step = event.get("step")
    if step == "prepare":
        return prepare(event["request"], lambdas, records, store)
    if step == "shift":
        return shift(event["plan"], lambdas)
    if step == "check":
        return check(event["plan"], lambdas)
    if step == "rollback":
        failure = event.get("failure")
        return rollback(
            event["plan"], list(event.get("alarming", [])), lambdas, failure if isinstance(failure, dict) else None
        )
    raise ConfigurationError(f"the Lambda deploy function has no step {step!r} (prepare, shift, check, rollback)")
