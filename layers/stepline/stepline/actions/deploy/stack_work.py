"""How a CloudFormation operation's end is learnt and answered (kind ``cfn`` of
``stepline.actions.completions``): polled by the sweeper with DescribeStacks and
DescribeChangeSet; answered with the stack's outputs (variables, and ``OutputFileName`` in the
output artifact), or with the first failed resource of the operation and its reason."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from stepline.actions.completions import Answer, WorkKind, failed, settle
from stepline.actions.deploy.stack_sets import stack_set_ended
from stepline.actions.request import action_result
from stepline.ports.artifacts import ArtifactStore, put_directory
from stepline.ports.aws_deploys import Stacks
from stepline.ports.waiters import Completion, TaskCallbacks, Waiter, Waiters

# The states CodePipeline calls failed (REPLACE_ON_FAILURE replaces a stack in one of them).
FAILED_STATES = frozenset(
    {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED"}
)
SUCCEEDED_STATES = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
# An operation that ended without doing what was asked (the stack rolled back, or is stuck).
ENDED_BADLY = FAILED_STATES | {"UPDATE_ROLLBACK_COMPLETE", "UPDATE_FAILED", "IMPORT_ROLLBACK_COMPLETE"}


# Modes whose success carries no stack outputs.
_NO_OUTPUTS = frozenset({"DELETE_ONLY", "STACK_SET", "STACK_INSTANCES"})


def is_no_change(reason: str) -> bool:
    """CloudFormation's reasons for a change set that changes nothing."""
    return "didn't contain changes" in reason or "No updates are to be performed" in reason


def stack_work(stacks: Stacks, store: ArtifactStore) -> WorkKind:
    def answer(waiter: Waiter, completion: Completion) -> Answer:
        if not completion.succeeded:
            return Answer(error=completion.error, cause=completion.cause)
        if waiter.work.get("operation") == "delete" or waiter.work.get("mode") in _NO_OUTPUTS:
            return Answer(output=action_result({}, {}))
        stack = stacks.describe(waiter.work["stack"]) or {}
        raw = stack.get("Outputs")
        outputs = {
            str(o["OutputKey"]): str(o.get("OutputValue", ""))
            for o in (raw if isinstance(raw, list) else [])
            if isinstance(o, dict) and "OutputKey" in o
        }
        return Answer(output=action_result(_output_file(waiter, outputs, store), outputs))

    def poll(waiting: list[Waiter]) -> dict[str, Completion]:
        finished: dict[str, Completion] = {}
        for waiter in waiting:
            ended = _ended(stacks, waiter)
            if ended is not None:
                finished[waiter.key] = ended
        return finished

    return WorkKind(answer=answer, poll=poll)


def _output_file(waiter: Waiter, outputs: dict[str, str], store: ArtifactStore) -> dict[str, dict[str, str]]:
    """OutputFileName: the stack's outputs as a JSON object, the whole of the output artifact."""
    artifact, file_name = waiter.context.get("output"), waiter.context.get("outputFile")
    if not isinstance(artifact, str):
        return {}
    with tempfile.TemporaryDirectory(prefix="stepline-stack-") as scratch:
        if isinstance(file_name, str):
            target = Path(scratch) / file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(outputs, indent=2), encoding="utf-8")
        reference = put_directory(
            store, str(waiter.context["pipeline"]), str(waiter.context["execution"]), artifact, Path(scratch)
        )
    return {artifact: reference}


def _ended(stacks: Stacks, waiter: Waiter) -> Completion | None:
    """How the waiter's operation ended, or None while it runs."""
    work = waiter.work
    operation, stack_id = work.get("operation"), work["stack"]
    if operation == "none":
        return Completion(succeeded=True)
    if operation == "changeset":
        return _change_set_ended(stacks, stack_id, work["changeSet"])
    if operation == "stackset":
        ended = stack_set_ended(stacks, stack_id, work["stackSetOperation"])
        if ended is None:
            return None
        return Completion(succeeded=True) if ended[0] else failed("StackSetOperationFailed", ended[1])
    if operation == "execute":
        change_set = stacks.describe_change_set(stack_id, work["changeSet"])
        if change_set is not None and change_set.get("ExecutionStatus") in {"AVAILABLE", "EXECUTE_IN_PROGRESS"}:
            return None
    stack = stacks.describe(stack_id)
    status = str(stack["StackStatus"]) if stack else "DELETE_COMPLETE"
    if operation == "delete":
        if status == "DELETE_COMPLETE":
            return Completion(succeeded=True)
        if status == "DELETE_FAILED":
            return failed("StackFailed", stack_failure(stacks, stack_id, status, stack))
        return None
    if status in SUCCEEDED_STATES:
        return Completion(succeeded=True)
    if status in ENDED_BADLY or status == "DELETE_COMPLETE":
        return failed("StackFailed", stack_failure(stacks, stack_id, status, stack))
    return None  # *_IN_PROGRESS (a cleanup too), REVIEW_IN_PROGRESS before an execution starts


def _change_set_ended(stacks: Stacks, stack: str, change_set: str) -> Completion | None:
    found = stacks.describe_change_set(stack, change_set)
    if found is None:
        return failed("ChangeSetFailed", f"change set {change_set} of stack {stack} is gone (deleted meanwhile)")
    status = found.get("Status")
    if status == "CREATE_COMPLETE":
        return Completion(succeeded=True)
    if status == "FAILED":
        reason = str(found.get("StatusReason") or "no reason given")
        if is_no_change(reason):
            return Completion(succeeded=True)
        return failed("ChangeSetFailed", f"change set {found.get('ChangeSetName', change_set)} of {stack}: {reason}")
    return None


def stack_failure(stacks: Stacks, stack_id: str, status: str, stack: dict[str, object] | None) -> str:
    """The stack's end, and the first resource that failed in its latest operation with why."""
    name = str((stack or {}).get("StackName") or stack_id)
    line = f"stack {name} is {status}"
    first = first_failed_resource(stacks.events(stack_id), name)
    if first is not None:
        return f"{line}: {first}"
    reason = (stack or {}).get("StackStatusReason")
    return f"{line}: {reason}" if reason else line


def first_failed_resource(events: list[dict[str, object]], stack_name: str) -> str | None:
    """In events newest first: the oldest *_FAILED resource event since the operation began
    (the stack's own latest event reading "User Initiated"), as CodePipeline reports it."""
    operation: list[dict[str, object]] = []
    for event in events:
        operation.append(event)
        if event.get("LogicalResourceId") == stack_name and event.get("ResourceStatusReason") == "User Initiated":
            break
    for event in reversed(operation):
        status = str(event.get("ResourceStatus", ""))
        if status.endswith("_FAILED") and event.get("LogicalResourceId") != stack_name:
            reason = event.get("ResourceStatusReason") or "no reason given"
            return f"{event.get('LogicalResourceId')} ({event.get('ResourceType')}) {status}: {reason}"
    return None


class StackStatusDetails(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    status: str
    status_reason: str = Field("", alias="status-reason")


class StackStatus(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    stack_id: str = Field(alias="stack-id")
    status_details: StackStatusDetails = Field(alias="status-details")
    client_request_token: str = Field("", alias="client-request-token")


class StackStatusChange(BaseModel):
    """EventBridge's "CloudFormation Stack Status Change" event (source aws.cloudformation)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    detail_type: str = Field(alias="detail-type")
    detail: StackStatus


def finish_stack_operation(
    event: StackStatusChange, stacks: Stacks, store: ArtifactStore, waiters: Waiters, callbacks: TaskCallbacks
) -> str:
    """A stack operation's event: the waiter is found by the operation's ClientRequestToken (the
    action's own), and its end read as the sweeper reads it, so both answer alike. An event that
    comes before the action attached its operation is left to the sweeper."""
    detail = event.detail
    token = detail.client_request_token
    if not token.startswith("stepline-"):
        return f"ignored: {detail.stack_id} {detail.status_details.status} was not started by Stepline"
    waiter = waiters.find(f"cfn#{token}")
    if waiter is None:
        return f"ignored: nothing waits for {token} yet (the sweeper answers it)"
    ended = _ended(stacks, waiter)
    if ended is None:
        return f"ignored: {waiter.action} is still running ({detail.status_details.status})"
    return settle(waiter, ended, stack_work(stacks, store), waiters, callbacks)
