"""Invoke/AWS/StepFunctions: start the named state machine and wait for its execution to end.

The execution's name is ``<ExecutionNamePrefix>-<pipeline execution>`` (CodePipeline prefixes its
action execution id the same way), so a retried start finds the same execution instead of
starting another. ``InputType`` Literal passes ``Input`` as the execution input; FilePath reads
that file from the input artifact. The token waits for the execution's status change: success
gives the StateMachineArn and ExecutionArn variables (and, with an output artifact, the
execution's output as ``output.json``); failure, abort or time-out fail the action.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stepline.actions.artifacts import fetched_input
from stepline.actions.errors import ArtifactError, ConfigurationError
from stepline.actions.request import ActionRequest, action_result
from stepline.ports import (
    ArtifactStore,
    TaskCallbacks,
    TaskTokens,
    Workflows,
    put_directory,
)

_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")


def execution_name(prefix: str, pipeline_execution: str) -> str:
    name = _NAME_CHARACTERS.sub("-", f"{prefix}-{pipeline_execution}" if prefix else pipeline_execution)
    return name[:80]


def start_state_machine(request: ActionRequest, workflows: Workflows, store: ArtifactStore, tokens: TaskTokens) -> str:
    label = f"{request.stage}.{request.action.name}"
    if request.task_token is None:
        raise ConfigurationError(f"{label}: a Step Functions invoke waits for a task token, and none came")
    configuration = request.configuration()
    arn = configuration["StateMachineArn"]
    text = configuration.get("Input", "{}") or "{}"
    if configuration.get("InputType", "Literal") == "FilePath":
        text = _read_input_file(request, store, text, label)
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigurationError(
            f"{label}: the execution input is not JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    execution = workflows.start(
        arn, execution_name(configuration.get("ExecutionNamePrefix", ""), request.execution.name), text
    )
    outputs = [artifact.name for artifact in request.action.output_artifacts]
    tokens.remember(
        f"sfn#{execution}",
        {
            "taskToken": request.task_token,
            "action": label,
            "pipeline": request.pipeline,
            "execution": request.execution.name,
            "output": outputs[0] if outputs else None,
            "variables": {"StateMachineArn": arn, "ExecutionArn": execution},
        },
    )
    return execution


def _read_input_file(request: ActionRequest, store: ArtifactStore, path: str, label: str) -> str:
    if not request.action.input_artifacts:
        raise ConfigurationError(f"{label}: InputType FilePath needs an input artifact holding {path}")
    with fetched_input(request, store, label) as (name, folder):
        file = (folder / path).resolve()
        if folder.resolve() not in file.parents or not file.is_file():
            raise ArtifactError(f"{label}: {path} is not in input artifact {name!r}")
        return file.read_text(encoding="utf-8")


class ExecutionStatus(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    execution_arn: str = Field(alias="executionArn")
    state_machine_arn: str = Field(alias="stateMachineArn")
    status: str
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    output_details: dict[str, Any] | None = Field(None, alias="outputDetails")


class ExecutionStatusChange(BaseModel):
    """EventBridge's "Step Functions Execution Status Change" event (source aws.states)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    detail_type: str = Field(alias="detail-type")
    detail: ExecutionStatus


def finish_state_machine(
    event: ExecutionStatusChange,
    workflows: Workflows,
    store: ArtifactStore,
    tokens: TaskTokens,
    callbacks: TaskCallbacks,
) -> str:
    detail = event.detail
    if detail.status == "RUNNING":
        return f"ignored: execution {detail.execution_arn} is running"
    record = tokens.claim(f"sfn#{detail.execution_arn}")
    if record is None:
        return f"ignored: no task waits for execution {detail.execution_arn}"
    token = str(record["taskToken"])
    if detail.status != "SUCCEEDED":
        reason = ": ".join(part for part in (detail.error, detail.cause) if part) or "no error given"
        callbacks.fail(
            token,
            f"StateMachine{detail.status.title().replace('_', '')}",
            f"{detail.execution_arn} {detail.status}: {reason}",
        )
        return f"failed: {record.get('action')} ({detail.status})"
    artifacts: dict[str, dict[str, str]] = {}
    output_name = record.get("output")
    if isinstance(output_name, str):
        output = detail.output
        if output is None or (detail.output_details or {}).get("included") is False:
            output = str(workflows.describe(detail.execution_arn).get("output") or "null")
        with tempfile.TemporaryDirectory(prefix="stepline-sfn-") as scratch:
            (Path(scratch) / "output.json").write_text(output, encoding="utf-8")
            artifacts[output_name] = put_directory(
                store, str(record["pipeline"]), str(record["execution"]), output_name, Path(scratch)
            )
    variables = record.get("variables")
    callbacks.succeed(token, action_result(artifacts, variables if isinstance(variables, dict) else {}))
    return f"succeeded: {record.get('action')}"
