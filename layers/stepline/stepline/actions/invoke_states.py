"""Invoke/AWS/StepFunctions: start the named state machine and wait for its execution to end.

The execution's name is ``<ExecutionNamePrefix>-<pipeline execution>`` (CodePipeline prefixes its
action execution id the same way), so a retried start finds the same execution instead of
starting another. ``InputType`` Literal passes ``Input`` as the execution input; FilePath reads
that file from the input artifact. The waiter (``stepline.actions.completions``) is registered
before the start and the execution attached after it; the execution's status change (an event,
or the sweeper's DescribeExecution) answers it once: success gives the StateMachineArn and
ExecutionArn variables (and, with an output artifact, the execution's output as
``output.json``); failure, abort or time-out fail the action.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stepline.actions.artifacts import fetched_input
from stepline.actions.completions import (
    Answer,
    WorkKind,
    answered_before,
    attach,
    complete,
    failed,
    register,
    waiter_key,
)
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest, action_result
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import ArtifactStore, put_directory
from stepline.ports.waiters import Completion, TaskCallbacks, Waiter, Waiters
from stepline.ports.workflows import ExecutionNameTaken, ExecutionNotFound, Workflows

_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")


def execution_name(prefix: str, pipeline_execution: str) -> str:
    name = _NAME_CHARACTERS.sub("-", f"{prefix}-{pipeline_execution}" if prefix else pipeline_execution)
    return name[:80]


def start_state_machine(
    request: ActionRequest,
    workflows: Workflows,
    store: ArtifactStore,
    waiters: Waiters,
    callbacks: TaskCallbacks,
    now: float,
) -> str:
    label = request.label
    task_token = request.waiting_token("a Step Functions invoke")
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
    outputs = [artifact.name for artifact in request.action.output_artifacts]
    waiter = register(
        waiters,
        Waiter(
            key=waiter_key("sfn", request.execution.id, label),
            kind="sfn",
            token=task_token,
            action=label,
            context={
                "pipeline": request.pipeline,
                "execution": request.execution.name,
                "output": outputs[0] if outputs else None,
                "stateMachineArn": arn,
            },
        ),
        now,
    )
    kind = execution_work(workflows, store)
    if answered_before(waiter, kind, waiters, callbacks) is not None:
        return waiter.work.get("execution", "")
    name = execution_name(configuration.get("ExecutionNamePrefix", ""), request.execution.name)
    try:
        execution = waiter.work.get("execution") or workflows.start(arn, name, text)
    except ExecutionNameTaken as taken:
        raise ConfigurationError(f"{label}: {taken}") from None
    attach(waiters, waiter, f"sfn#{execution}", {"execution": execution}, kind, callbacks)
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


def execution_completion(status: str, error: str | None, cause: str | None, arn: str, output: str | None) -> Completion:
    if status == "SUCCEEDED":
        return Completion(succeeded=True, output=output)
    reason = ": ".join(part for part in (error, cause) if part) or "no error given"
    return failed(f"StateMachine{status.title().replace('_', '')}", f"{arn} {status}: {reason}")


def execution_work(workflows: Workflows, store: ArtifactStore) -> WorkKind:
    """Executions: answered with the variables and the output as an artifact; polled with
    DescribeExecution."""

    def answer(waiter: Waiter, completion: Completion) -> Answer:
        if not completion.succeeded:
            return Answer(error=completion.error, cause=completion.cause)
        execution = waiter.work["execution"]
        artifacts: dict[str, dict[str, str]] = {}
        output_name = waiter.context.get("output")
        if isinstance(output_name, str):
            output = completion.output
            if output is None:  # too large for the event: read it from the execution
                output = str(workflows.describe(execution).get("output") or "null")
            with tempfile.TemporaryDirectory(prefix="stepline-sfn-") as scratch:
                (Path(scratch) / "output.json").write_text(output, encoding="utf-8")
                artifacts[output_name] = put_directory(
                    store, str(waiter.context["pipeline"]), str(waiter.context["execution"]), output_name, Path(scratch)
                )
        variables = {"StateMachineArn": str(waiter.context.get("stateMachineArn", "")), "ExecutionArn": execution}
        return Answer(output=action_result(artifacts, variables))

    def poll(waiting: list[Waiter]) -> dict[str, Completion]:
        finished: dict[str, Completion] = {}
        for waiter in waiting:
            execution = waiter.work["execution"]
            try:
                described = workflows.describe(execution)
            except ExecutionNotFound:
                finished[waiter.key] = failed("StateMachineFailed", f"{execution} does not exist")
                continue
            status = str(described.get("status", "RUNNING"))
            if status in {"RUNNING", "PENDING_REDRIVE"}:
                continue
            error, cause, output = (described.get(field) for field in ("error", "cause", "output"))
            finished[waiter.key] = execution_completion(
                status,
                str(error) if error else None,
                str(cause) if cause else None,
                execution,
                str(output) if output is not None else None,
            )
        return finished

    return WorkKind(answer=answer, poll=poll)


def finish_state_machine(
    event: ExecutionStatusChange,
    workflows: Workflows,
    store: ArtifactStore,
    waiters: Waiters,
    callbacks: TaskCallbacks,
) -> str:
    detail = event.detail
    if detail.status in {"RUNNING", "PENDING_REDRIVE"}:
        return f"ignored: execution {detail.execution_arn} is running"
    included = (detail.output_details or {}).get("included") is not False
    completion = execution_completion(
        detail.status, detail.error, detail.cause, detail.execution_arn, detail.output if included else None
    )
    return complete(f"sfn#{detail.execution_arn}", completion, execution_work(workflows, store), waiters, callbacks)
