"""Invoke/AWS/Lambda: call the user's function with the action's UserParameters, the resolved
variables and the artifact locations; its ``outputVariables`` become the action's namespace.

The event keeps the shape of CodePipeline's job event (``CodePipeline.job`` with
``actionConfiguration`` and artifact locations) so existing functions find their inputs where
they look, plus ``stepline`` with the resolved variables. Instead of calling
PutJobSuccessResult, the function returns ``{"outputVariables": {...}}``; raising fails the
action with the function's message.
"""

from __future__ import annotations

import json
from typing import Any

from stepline.actions.request import ActionRequest, action_result
from stepline.errors import ConfigurationError
from stepline.ports.deployments import FunctionInvoker

# CodePipeline's quota for all output variables of one action.
MAX_OUTPUT_VARIABLES_BYTES = 122_880


def _location(reference: dict[str, str]) -> dict[str, Any]:
    location = reference.get("location", "")
    if reference.get("type") == "S3":
        bucket, _, key = location.removeprefix("s3://").partition("/")
        return {"type": "S3", "s3Location": {"bucketName": bucket, "objectKey": key}}
    return {"type": reference.get("type", "Local"), "path": location.removeprefix("file://")}


def invoke_lambda(request: ActionRequest, invoker: FunctionInvoker, bucket: str = "") -> dict[str, Any]:
    label = request.label
    configuration = request.configuration()
    function = configuration["FunctionName"]
    inputs = [
        {"name": a.name, "location": _location(request.artifacts.get(a.name, {}))}
        for a in request.action.input_artifacts
    ]
    folder = f"{request.pipeline}/{request.execution.name}"
    outputs = {
        artifact.name: (
            {"type": "S3", "location": f"s3://{bucket}/{folder}/{artifact.name}.zip"}
            if bucket
            else {"type": "Local", "location": f"file://{folder}/{artifact.name}.zip"}
        )
        for artifact in request.action.output_artifacts
    }
    event = {
        "CodePipeline.job": {
            "id": f"{request.execution.name}/{label}",
            "data": {
                "actionConfiguration": {"configuration": configuration},
                "inputArtifacts": inputs,
                "outputArtifacts": [{"name": name, "location": _location(ref)} for name, ref in outputs.items()],
            },
        },
        "stepline": {
            "pipeline": request.pipeline,
            "stage": request.stage,
            "action": request.action.name,
            "executionId": request.execution.name,
            "userParameters": configuration.get("UserParameters", ""),
            "variables": request.variables,
        },
    }
    result = invoker.invoke(function, event)
    variables = result.get("outputVariables", {}) if isinstance(result, dict) else {}
    if not isinstance(variables, dict):
        raise ConfigurationError(
            f"{label}: {function} returned outputVariables that are not an object of names to values"
        )
    variables = {str(key): value if isinstance(value, str) else json.dumps(value) for key, value in variables.items()}
    size = len(json.dumps(variables).encode())
    if size > MAX_OUTPUT_VARIABLES_BYTES:
        limit = MAX_OUTPUT_VARIABLES_BYTES
        raise ConfigurationError(
            f"{label}: {function} returned {size:,} bytes of output variables; the limit is {limit:,}"
        )
    return action_result(outputs, variables)
