"""Deploy/AWS/CloudFormation, every ActionMode, as CodePipeline runs them (and the entry of the
stack set providers, whose operations ``stack_sets`` starts and which are waited for alike).

- CREATE_UPDATE creates the stack, or updates it ("No updates are to be performed" succeeds);
  a stack in a failed state (ROLLBACK_COMPLETE, ROLLBACK_FAILED, CREATE_FAILED, DELETE_FAILED,
  UPDATE_ROLLBACK_FAILED) fails the action: CodePipeline does not replace it in this mode.
- REPLACE_ON_FAILURE does the same, but deletes a stack in a failed state and creates it anew.
- DELETE_ONLY deletes the stack; a stack that does not exist succeeds at once.
- CHANGE_SET_REPLACE deletes a change set of that name and creates it again (type CREATE for a
  stack that does not exist yet); a change set with nothing to change succeeds.
- CHANGE_SET_EXECUTE executes it; one that failed for having nothing to change succeeds.

The waiter (``stepline.actions.completions``, kind ``cfn``) is registered before anything is
sent to CloudFormation and the operation attached after; the sweeper's polling (DescribeStacks,
DescribeChangeSet) answers it once, with the stack's outputs as variables and, with
``OutputFileName``, as a JSON file in the output artifact. A failure names the first resource
that failed in this operation and CloudFormation's reason (DescribeStackEvents, as
CodePipeline's message does). A retried attempt finds what the first one started (the
record, CloudFormation's ClientRequestToken) and starts nothing again.
"""

from __future__ import annotations

from typing import Any

from stepline.actions.completions import answered_before, attach, register, settle, waiter_key
from stepline.actions.deploy.stack_inputs import StackInputs, TemplateUploads, stack_inputs, with_template_url
from stepline.actions.deploy.stack_sets import start_stack_set_operation
from stepline.actions.deploy.stack_work import FAILED_STATES, is_no_change, stack_work
from stepline.actions.errors import TransientActionError
from stepline.actions.request import ActionRequest
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.aws_deploys import Stacks
from stepline.ports.records import Records
from stepline.ports.waiters import Completion, TaskCallbacks, Waiter, Waiters

# How long REPLACE_ON_FAILURE waits for a failed stack's deletion within one attempt; past it
# the attempt is retried (TransientActionError) and waits again, deleting nothing twice.
REPLACE_WAIT_SECONDS = 240


def deploy_stack(
    request: ActionRequest,
    store: ArtifactStore,
    stacks: Stacks,
    waiters: Waiters,
    records: Records,
    callbacks: TaskCallbacks,
    now: float,
    uploads: TemplateUploads | None = None,
) -> dict[str, str]:
    """Start the stack operation the ActionMode names; the task token waits for its end.
    ``uploads`` says where a template too large for the request goes (on AWS: the artifact bucket)."""
    label = request.label
    task_token = request.waiting_token("a CloudFormation action")
    configuration = request.configuration()
    outputs = [artifact.name for artifact in request.action.output_artifacts]
    if configuration.get("OutputFileName") and not outputs:
        raise ConfigurationError(f"{label}: OutputFileName needs an output artifact to be written to")
    key = waiter_key("cfn", request.execution.id, label)
    context = {
        "pipeline": request.pipeline,
        "execution": request.execution.name,
        "output": outputs[0] if outputs else None,
        "outputFile": configuration.get("OutputFileName") or None,
        "mode": configuration.get("ActionMode") or request.action.action_type_id.provider,
    }
    waiter = register(waiters, Waiter(key=key, kind="cfn", token=task_token, action=label, context=context), now)
    kind = stack_work(stacks, store)
    if answered_before(waiter, kind, waiters, callbacks) is not None:
        return waiter.work
    token = "stepline-" + key.split("#", 1)[1]  # CloudFormation's ClientRequestToken: [a-zA-Z][-a-zA-Z0-9]*
    record_key = f"{request.execution.id}/{label}"
    record = records.get(record_key)
    work = waiter.work or _recorded(record) or (_adopted(stacks, configuration) if record else None)
    if work is None:
        records.put(record_key, {"starting": True})
        work = _start(request, store, stacks, configuration, token, label, uploads)
        records.put(record_key, {"work": work})
    ended = attach(waiters, waiter, f"cfn#{token}", work, kind, callbacks)
    if ended is None and work.get("operation") == "none":  # nothing to wait for: answer now
        settle(waiters.get(key) or waiter, Completion(succeeded=True), kind, waiters, callbacks)
    return work


def _recorded(record: dict[str, object] | None) -> dict[str, str] | None:
    work = (record or {}).get("work")
    return {str(k): str(v) for k, v in work.items()} if isinstance(work, dict) else None


def _adopted(stacks: Stacks, configuration: dict[str, str]) -> dict[str, str] | None:
    """An earlier attempt began starting and was cut off before it recorded what it started: a
    stack operation under way now is taken to be its own (it carried this action's token), and
    waited for instead of refused as another's."""
    name = configuration.get("StackName")
    stack = stacks.describe(name) if name else None
    status = str((stack or {}).get("StackStatus", ""))
    if stack is None or not status.endswith("_IN_PROGRESS") or status == "REVIEW_IN_PROGRESS":
        return None
    operation = "delete" if status.startswith("DELETE") else "stack"
    return {"operation": operation, "stack": str(stack["StackId"]), "mode": configuration.get("ActionMode", "")}


def _start(
    request: ActionRequest,
    store: ArtifactStore,
    stacks: Stacks,
    configuration: dict[str, str],
    token: str,
    label: str,
    uploads: TemplateUploads | None,
) -> dict[str, str]:
    if request.action.action_type_id.provider in {"CloudFormationStackSet", "CloudFormationStackInstances"}:
        return start_stack_set_operation(request, store, stacks, configuration, label)
    mode, name = configuration["ActionMode"], configuration["StackName"]
    stack = stacks.describe(name)
    status = str(stack["StackStatus"]) if stack else "DOES_NOT_EXIST"
    if status == "DELETE_COMPLETE":
        stack, status = None, "DOES_NOT_EXIST"
    role = configuration.get("RoleArn") or None
    if mode == "DELETE_ONLY":
        if stack is None:
            return {"operation": "none", "stack": name, "mode": mode}
        stacks.delete(str(stack["StackId"]), role, token)
        return {"operation": "delete", "stack": str(stack["StackId"]), "mode": mode}
    if mode == "CHANGE_SET_EXECUTE":
        return _execute(stacks, name, configuration["ChangeSetName"], token, label)
    if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise ConfigurationError(
            f"{label}: stack {name} is {status}: another operation is under way on it; retry once it ends"
        )
    key = f"{request.pipeline}/{request.execution.name}/{token}.template"
    inputs = with_template_url(stack_inputs(request, store, configuration, label), uploads, key, label)
    if mode == "CHANGE_SET_REPLACE":
        return _replace_change_set(stacks, name, status, configuration, inputs)
    if stack is not None and (status in FAILED_STATES or status == "REVIEW_IN_PROGRESS"):
        if mode == "CREATE_UPDATE" and status != "REVIEW_IN_PROGRESS":
            raise ConfigurationError(
                f"{label}: stack {name} is {status}, a failed state: CREATE_UPDATE does not replace a failed "
                "stack (as in CodePipeline); delete it, or use ActionMode REPLACE_ON_FAILURE"
            )
        # Its own token: the deletion's events must not read as the end of the creation that follows.
        stacks.delete(str(stack["StackId"]), role, f"{token}-replaced")
        if not stacks.wait_deleted(str(stack["StackId"]), REPLACE_WAIT_SECONDS):
            raise TransientActionError(f"{label}: stack {name} ({status}) is still being deleted before it is replaced")
        stack = None
    parameters = _stack_parameters(name, configuration, inputs, token)
    if stack is None:
        return {"operation": "stack", "stack": stacks.create(parameters), "mode": mode}
    if not stacks.update(parameters):
        return {"operation": "none", "stack": str(stack["StackId"]), "mode": mode}
    return {"operation": "stack", "stack": str(stack["StackId"]), "mode": mode}


def _execute(stacks: Stacks, name: str, change_set: str, token: str, label: str) -> dict[str, str]:
    found = stacks.describe_change_set(name, change_set)
    if found is None:
        raise ConfigurationError(
            f"{label}: stack {name} has no change set {change_set!r} (a CHANGE_SET_REPLACE action makes it)"
        )
    stack_id = str(found.get("StackId", name))
    if found.get("Status") == "FAILED" and is_no_change(str(found.get("StatusReason", ""))):
        return {"operation": "none", "stack": stack_id, "mode": "CHANGE_SET_EXECUTE"}
    if found.get("ExecutionStatus") != "AVAILABLE":
        reason = found.get("StatusReason") or "no reason given"
        raise ConfigurationError(
            f"{label}: change set {change_set!r} of stack {name} cannot be executed: it is "
            f"{found.get('Status')}/{found.get('ExecutionStatus')} ({reason})"
        )
    stacks.execute_change_set(stack_id, str(found.get("ChangeSetId", change_set)), token)
    return {
        "operation": "execute",
        "stack": stack_id,
        "changeSet": str(found.get("ChangeSetId", change_set)),
        "mode": "CHANGE_SET_EXECUTE",
    }


def _replace_change_set(
    stacks: Stacks, name: str, status: str, configuration: dict[str, str], inputs: StackInputs
) -> dict[str, str]:
    change_set = configuration["ChangeSetName"]
    new_stack = status in {"DOES_NOT_EXIST", "REVIEW_IN_PROGRESS"}
    if status != "DOES_NOT_EXIST":
        stacks.delete_change_set(name, change_set)
    parameters: dict[str, Any] = {
        "StackName": name,
        "ChangeSetName": change_set,
        "ChangeSetType": "CREATE" if new_stack else "UPDATE",
        **_shared(configuration, inputs),
    }
    change_set_id = stacks.create_change_set(parameters)
    return {"operation": "changeset", "stack": name, "changeSet": change_set_id, "mode": "CHANGE_SET_REPLACE"}


def _stack_parameters(name: str, configuration: dict[str, str], inputs: StackInputs, token: str) -> dict[str, Any]:
    parameters: dict[str, Any] = {"StackName": name, "ClientRequestToken": token, **_shared(configuration, inputs)}
    if inputs.stack_policy:
        parameters["StackPolicyBody"] = inputs.stack_policy
    return parameters


def _shared(configuration: dict[str, str], inputs: StackInputs) -> dict[str, Any]:
    """What CreateStack, UpdateStack and CreateChangeSet all take."""
    shared: dict[str, Any] = (
        {"TemplateURL": inputs.template_url} if inputs.template_url else {"TemplateBody": inputs.template or ""}
    )
    if inputs.parameters:
        shared["Parameters"] = [{"ParameterKey": k, "ParameterValue": v} for k, v in inputs.parameters.items()]
    capabilities = [c.strip() for c in configuration.get("Capabilities", "").split(",") if c.strip()]
    if capabilities:
        shared["Capabilities"] = capabilities
    if configuration.get("RoleArn"):
        shared["RoleARN"] = configuration["RoleArn"]
    if inputs.tags:
        shared["Tags"] = [{"Key": k, "Value": v} for k, v in inputs.tags.items()]
    return shared
