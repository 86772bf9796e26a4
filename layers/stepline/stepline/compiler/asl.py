"""Pipeline → Amazon States Language: a pure, deterministic function.

The shape of every compiled pipeline (docs/ARCHITECTURE.md draws it):

    Start pipeline → Read input
      → for each stage, for each runOrder group in ascending order:
           one action:      Task (its Assign merges what it produced)
           several actions: Parallel (one Task per branch) ──► check (its Default's Assign merges)
      → Pipeline succeeded (its Output is the execution state)

    any action's failure → "<Stage>.<Action> failed" (records stage, action, error) → Pipeline failed

The execution state is held in workflow variables (Step Functions' ``Assign``), references
only: ``$trigger`` (what started the run), ``$artifacts`` (name → location),
``$pipelineVariables`` and one variable per action namespace (``namespace_variable``). A
Task's Assign merges its own outputs as it succeeds, so no Pass state after each action
costs a billed transition. Actions in a parallel group catch their own failures, so the
others finish before the stage fails — CodePipeline's behaviour, not Step Functions'
default of cancelling sibling branches.

Resource ARNs are left as ``${Placeholder}`` strings; ``substitute`` fills them in for a runtime.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from stepline.compiler import gates, retries, rollback
from stepline.definition.models import ActionDeclaration, PipelineDeclaration, StageDeclaration
from stepline.definition.providers import GATE_PLACEHOLDER, Integration, Provider, find_provider
from stepline.errors import InvalidInput

MAX_STATE_NAME = 80
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"
NESTED_EXECUTION = "arn:aws:states:::states:startExecution.sync:2"

START = "Start pipeline"
READ_INPUT = "Read input"
SUCCEEDED = "Pipeline succeeded"
FAILED = "Pipeline failed"
FAILURE_ERROR = "ActionFailed"
APPROVAL_EXPIRED = "ApprovalExpired"

# Transient errors worth retrying, by integration (AWS's recommended set for Lambda tasks).
# TransientActionError is what Stepline's own actions raise for a retryable condition.
_TRANSIENT_ERRORS = {
    Integration.INVOKE: [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "TransientActionError",
    ],
    Integration.NESTED: [
        "StepFunctions.AWSStepFunctionsException",
        "StepFunctions.SdkClientException",
    ],
}
_TRANSIENT_ERRORS[Integration.CALLBACK] = _TRANSIENT_ERRORS[Integration.INVOKE]
RETRY_POLICY = {"IntervalSeconds": 2, "MaxAttempts": 5, "BackoffRate": 2.0, "MaxDelaySeconds": 60}


class CompilationError(InvalidInput):
    """The pipeline is valid CodePipeline but cannot become a usable state machine."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the compiled state machine is not usable:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class ActionState:
    """Which Task state runs which action: how history is read back as pipeline status."""

    state: str
    stage: str
    action: str
    type: str
    run_order: int
    failure_state: str
    timeout_minutes: int | None = None  # the Task's TimeoutSeconds, for saying what a States.Timeout means


@dataclass(frozen=True)
class CompiledPipeline:
    definition: dict[str, Any]
    placeholders: tuple[str, ...]
    actions: tuple[ActionState, ...]

    def to_json(self) -> str:
        """Byte-identical for the same pipeline."""
        return json.dumps(self.definition, indent=2) + "\n"


class _Names:
    """Readable, unique state names within Step Functions' 80-character limit."""

    def __init__(self) -> None:
        self._used: set[str] = {START, READ_INPUT, SUCCEEDED, FAILED, *gates.RESERVED, rollback.ROLLBACK}

    def claim(self, base: str, suffix: str = "") -> str:
        name = _fit(base, suffix)
        counter = 2
        while name in self._used:
            name = _fit(base, f"{suffix} #{counter}")
            counter += 1
        self._used.add(name)
        return name


def _fit(base: str, suffix: str) -> str:
    name = base + suffix
    if len(name) <= MAX_STATE_NAME:
        return name
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]
    keep = MAX_STATE_NAME - len(suffix) - len(digest) - 1
    return f"{base[:keep]}~{digest}{suffix}"


def compile_pipeline(pipeline: PipelineDeclaration) -> CompiledPipeline:
    """The state machine for a validated pipeline (see the module docstring for its shape)."""
    builder = _Builder(pipeline)
    definition = builder.build()
    return CompiledPipeline(definition, tuple(sorted(builder.placeholders)), tuple(builder.action_states))


class _Builder:
    def __init__(self, pipeline: PipelineDeclaration) -> None:
        self.pipeline = pipeline
        self.names = _Names()
        self.states: dict[str, Any] = {}
        self.placeholders: set[str] = set()
        self.action_states: list[ActionState] = []
        self.namespaces: list[str] = []  # the namespaces produced by the groups compiled so far

    def build(self) -> dict[str, Any]:
        groups = [
            (stage, list(actions))
            for stage in self.pipeline.stages
            for _, actions in groupby(sorted(stage.actions, key=lambda a: a.run_order), key=lambda a: a.run_order)
        ]
        # Name every group's entry state first, so each group knows where to go next; a
        # stage's first group is entered through the stage's gate.
        entries = [self._entry_name(stage, actions) for stage, actions in groups]
        stages = [stage for stage, _ in groups]
        retry = _retry(Integration.CALLBACK)
        heads, gate_states = gates.gates(self.pipeline, stages, entries, self.names.claim, retry, _action_variables)
        self.placeholders.add(GATE_PLACEHOLDER)
        self._add_prologue(first=heads[0] if heads else SUCCEEDED)
        by_stage = {groups[index][0].name: heads[index] for index in gate_states}
        rollback.add(self.states, self.pipeline, by_stage, namespace_variable, (START, READ_INPUT))
        for index, (stage, actions) in enumerate(groups):
            self.states.update(gate_states.get(index, {}))
            following = heads[index + 1] if index + 1 < len(groups) else gates.RELEASE
            if len(actions) == 1:
                self._add_single(stage, actions[0], entries[index], following)
            else:
                self._add_parallel(stage, actions, entries[index], following)
            self.namespaces += [action.namespace for action in actions if action.namespace]
        self.states[SUCCEEDED] = {
            "Type": "Succeed",
            "Comment": "Every stage succeeded. The execution's output is its state, read from the variables.",
            # JSONata in this state alone: a JSONPath Succeed cannot build an object from variables.
            "QueryLanguage": "JSONata",
            "Output": {
                "trigger": "{% $trigger %}",
                "artifacts": "{% $artifacts %}",
                "variables": {
                    "codepipeline": {"PipelineExecutionId": "{% $states.context.Execution.Name %}"},
                    "variables": "{% $pipelineVariables %}",
                    **{name: f"{{% ${namespace_variable(name)} %}}" for name in self.namespaces},
                },
            },
        }
        self.states.update(gates.ends(self.pipeline, SUCCEEDED, FAILED, _retry(Integration.INVOKE), _action_variables))
        retries.add(self.states, self.pipeline, by_stage, READ_INPUT, self.names.claim)
        self.states[FAILED] = {
            "Type": "Fail",
            "Comment": "An action failed; the cause is JSON naming its stage, action and error.",
            # Static: Step Functions refuses a Fail state that raises a reserved States.* name,
            # which is what a timed-out action's error is.
            "Error": FAILURE_ERROR,
            "CausePath": "States.JsonToString($.failure)",
        }
        return {
            "Comment": f"Stepline pipeline {self.pipeline.name} (version {self.pipeline.version}), "
            "compiled from its CodePipeline declaration.",
            "StartAt": START,
            "States": self.states,
        }

    def _entry_name(self, stage: StageDeclaration, actions: list[ActionDeclaration]) -> str:
        if len(actions) == 1:
            return self.names.claim(f"{stage.name}.{actions[0].name}")
        return self.names.claim(f"{stage.name} runOrder {actions[0].run_order}")

    def _add_prologue(self, first: str) -> None:
        # Fill in what the starter left out (a console start may pass {}), then assign the
        # state every action sees. Two steps because intrinsics cannot take object literals.
        self.states[START] = {
            "Type": "Pass",
            "Comment": "Defaults for whatever the execution input leaves out.",
            "Result": {"trigger": {"type": "StartPipelineExecution"}, "variables": {}},
            "ResultPath": "$.defaults",
            "Next": READ_INPUT,
        }
        self.states[READ_INPUT] = {
            "Type": "Pass",
            "Parameters": {
                "input.$": "States.JsonMerge($.defaults, $, false)",
                "declared": {
                    variable.name: variable.default_value
                    for variable in self.pipeline.variables
                    if variable.default_value is not None
                },
            },
            "Comment": "The execution state, as variables: the trigger, references to artifacts, pipeline variables.",
            "Assign": {
                "trigger.$": "$.input.trigger",
                "artifacts": {},
                "pipelineVariables.$": "States.JsonMerge($.declared, $.input.variables, false)",
            },
            "Next": first,
        }

    def _add_single(self, stage: StageDeclaration, action: ActionDeclaration, name: str, following: str) -> None:
        failed = self.names.claim(f"{stage.name}.{action.name}", " failed")
        task, extra = self._task(stage, action, name, failed)
        # Assign reads the Task's result before ResultSelector: what the action produced, merged.
        root = _result_root(action)
        task["Assign"] = _merged([(f"{root}.artifacts", action.namespace, f"{root}.variables")])
        # The action's own outputs stay in the state too: how a run is read back (stepline.status).
        task["ResultPath"] = "$.outcome"
        task["Next"] = following
        gates.supersedable(task)
        self.states[name] = task
        self.states.update(extra)
        self.states[failed] = {
            **_failure_record(stage, action),
            "ResultPath": "$.failure",
            "Next": gates.RELEASE_AFTER_FAILURE,
        }

    def _add_parallel(
        self, stage: StageDeclaration, actions: list[ActionDeclaration], name: str, following: str
    ) -> None:
        check = self.names.claim(name, " results")
        branches = []
        choices = []
        for index, action in enumerate(actions):
            task_name = self.names.claim(f"{stage.name}.{action.name}")
            failed = self.names.claim(f"{stage.name}.{action.name}", " failed")
            stop = self.names.claim(f"{stage.name}.{action.name}", " stops the pipeline")
            task, extra = self._task(stage, action, task_name, failed)
            task["End"] = True
            record = _failure_record(stage, action)
            branches.append(
                {
                    "StartAt": task_name,
                    "States": {
                        task_name: task,
                        **extra,
                        # The branch ends normally so sibling actions run to completion.
                        failed: {
                            "Type": "Pass",
                            "Parameters": {"failure": record["Parameters"]},
                            "End": True,
                        },
                    },
                }
            )
            choices.append({"Variable": f"$.group.a{index}.failure", "IsPresent": True, "Next": stop})
            self.states[stop] = {
                "Type": "Pass",
                "InputPath": f"$.group.a{index}.failure",
                "ResultPath": "$.failure",
                "Next": gates.RELEASE_AFTER_FAILURE,
            }
        self.states[name] = {
            "Type": "Parallel",
            "Comment": f"Stage {stage.name}: actions with runOrder {actions[0].run_order} run together.",
            "Branches": branches,
            # Named fields, not array indexes: interpreters disagree on what an intrinsic
            # function's "$.group[0].x" argument yields, and nobody disagrees on "$.group.a0.x".
            "ResultSelector": {f"a{index}.$": f"$[{index}]" for index in range(len(actions))},
            "ResultPath": "$.group",
            "Next": check,
        }
        self.states[check] = {
            "Type": "Choice",
            "Choices": choices,
            "Default": following,
            # Taken only when every action succeeded: what they produced, merged.
            "Assign": _merged(
                [
                    (f"$.group.a{index}.artifacts", action.namespace, f"$.group.a{index}.variables.{action.namespace}")
                    for index, action in enumerate(actions)
                ]
            ),
        }

    def _task(
        self, stage: StageDeclaration, action: ActionDeclaration, name: str, failed: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The action's Task state, and any states its failure path needs beside it."""
        provider = find_provider(action.action_type_id)
        if provider is None:  # validation refuses unknown providers before compilation
            raise CompilationError([f"{stage.name}.{action.name}: no provider {action.action_type_id}"])
        self.placeholders.add(provider.handler)
        minutes = _timeout_minutes(action, provider)
        self.action_states.append(
            ActionState(name, stage.name, action.name, str(action.action_type_id), action.run_order, failed, minutes)
        )
        payload: dict[str, Any] = {
            "pipeline": self.pipeline.name,
            "stage": stage.name,
            "action": action.model_dump(by_alias=True, exclude_none=True, mode="json"),
            "execution": {"id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name"},
            "trigger.$": "$trigger",
            "artifacts.$": "$artifacts",
            "variables": _action_variables(self.namespaces),
        }
        resource, parameters = _invocation(provider, payload)
        result_root = _result_root(action)
        variables: dict[str, Any] = {}
        if action.namespace:
            variables[f"{action.namespace}.$"] = f"{result_root}.variables"
        catches, extra = self._catches(stage, action, provider, minutes, failed)
        task = {
            "Type": "Task",
            "Comment": f"{action.action_type_id}: {provider.summary}.",
            "Resource": resource,
            "Parameters": parameters,
            "ResultSelector": {"artifacts.$": f"{result_root}.artifacts", "variables": variables},
            "TimeoutSeconds": minutes * 60,
            "Retry": [_retry(provider.integration)],
            "Catch": catches,
        }
        return task, extra

    def _catches(
        self, stage: StageDeclaration, action: ActionDeclaration, provider: Provider, minutes: int, failed: str
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The Task's Catch list, and the states it leads to beside the failure path."""
        catches: list[dict[str, Any]] = []
        extra: dict[str, Any] = {}
        if provider.category == "Approval":
            # Nobody decided in time: CodePipeline reports the approval as expired, not as a
            # bare States.Timeout, so the failure record says so.
            expired = self.names.claim(f"{stage.name}.{action.name}", " expired")
            extra[expired] = {
                "Type": "Pass",
                "Result": {
                    "Error": APPROVAL_EXPIRED,
                    "Cause": f"the approval expired: nobody approved or rejected it within {minutes} minutes",
                },
                "ResultPath": "$.error",
                "Next": failed,
            }
            catches.append({"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": expired})
        catches.append({"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed})
        return catches, extra


def _invocation(provider: Provider, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The Task's Resource and Parameters: how its provider's handler is called."""
    handler = f"${{{provider.handler}}}"
    if provider.integration is Integration.NESTED:
        started_by = {"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}
        return NESTED_EXECUTION, {"StateMachineArn": handler, "Input": {**payload, **started_by}}
    if provider.integration is Integration.CALLBACK:
        return LAMBDA_CALLBACK, {"FunctionName": handler, "Payload": {**payload, "taskToken.$": "$$.Task.Token"}}
    return LAMBDA_INVOKE, {"FunctionName": handler, "Payload": payload}


def _retry(integration: Integration) -> dict[str, Any]:
    return {"ErrorEquals": _TRANSIENT_ERRORS[integration], **RETRY_POLICY}


def _timeout_minutes(action: ActionDeclaration, provider: Provider) -> int:
    if action.timeout_in_minutes is not None:
        return action.timeout_in_minutes
    deployment_timeout = action.configuration.get("DeploymentTimeout", "")
    if deployment_timeout.isdigit():
        return int(deployment_timeout)
    return provider.timeout_minutes


def _failure_record(stage: StageDeclaration, action: ActionDeclaration) -> dict[str, Any]:
    return {
        "Type": "Pass",
        "Comment": f"Records that {stage.name}.{action.name} failed, and why.",
        "Parameters": {
            "stage": stage.name,
            "action": action.name,
            "error.$": "$.error.Error",
            "detail.$": "$.error",
        },
    }


def _result_root(action: ActionDeclaration) -> str:
    """Where an action's result (``{"artifacts", "variables"}``) is in its Task's raw result."""
    provider = find_provider(action.action_type_id)
    integration = provider.integration if provider is not None else Integration.INVOKE
    return {Integration.NESTED: "$.Output", Integration.CALLBACK: "$"}.get(integration, "$.Payload")


def _merged(outputs: list[tuple[str, str | None, str]]) -> dict[str, Any]:
    """An Assign adding each action's artifacts (path) and variables (namespace, path) to the state."""
    artifacts = "$artifacts"
    assign: dict[str, Any] = {}
    for artifacts_path, namespace, variables_path in outputs:
        artifacts = f"States.JsonMerge({artifacts}, {artifacts_path}, false)"
        if namespace:
            assign[f"{namespace_variable(namespace)}.$"] = variables_path
    return {"artifacts.$": artifacts, **assign}


_VARIABLE_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def namespace_variable(namespace: str) -> str:
    """The workflow variable holding an action namespace's variables.

    CodePipeline namespaces may hold ``@`` and ``-``, which variable names may not: those are
    replaced, and a digest of the namespace keeps two that differ only there apart.
    """
    safe = _VARIABLE_UNSAFE.sub("_", namespace)
    if safe != namespace:
        safe += "_" + hashlib.sha256(namespace.encode()).hexdigest()[:8]
    return f"ns_{safe}"


def _action_variables(namespaces: list[str]) -> dict[str, Any]:
    """The ``variables`` an action sees (a Parameters template): the reserved namespaces, then
    each namespace produced by an earlier group, as CodePipeline resolves them."""
    return {
        "codepipeline": {"PipelineExecutionId.$": "$$.Execution.Name"},
        "variables.$": "$pipelineVariables",
        **{f"{namespace}.$": f"${namespace_variable(namespace)}" for namespace in namespaces},
    }


_PLACEHOLDER = re.compile(r"^\$\{([A-Za-z0-9_]+)\}$")
# Only these Task parameters name a resource; a "${HOME}" in a user's command is left alone.
_RESOURCE_FIELDS = ("FunctionName", "StateMachineArn")


def substitute(definition: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``definition`` with each ``${Placeholder}`` resource filled from ``values``."""
    result: dict[str, Any] = json.loads(json.dumps(definition))
    missing: set[str] = set()
    for state in iter_states(result):
        parameters = state.get("Parameters") if state.get("Type") == "Task" else None
        if not isinstance(parameters, dict):
            continue
        for field in _RESOURCE_FIELDS:
            match = _PLACEHOLDER.match(str(parameters.get(field, "")))
            if match is None:
                continue
            if match[1] in values:
                parameters[field] = values[match[1]]
            else:
                missing.add(match[1])
    if missing:
        raise CompilationError([f"no value given for ${{{name}}}" for name in sorted(missing)])
    return result


def placeholder_uses(definition: Mapping[str, Any]) -> Counter[str]:
    """How many times each ``${Placeholder}`` stands as a Task's resource."""
    uses: Counter[str] = Counter()
    for state in iter_states(definition):
        parameters = state.get("Parameters") if state.get("Type") == "Task" else None
        if isinstance(parameters, dict):
            for field in _RESOURCE_FIELDS:
                match = _PLACEHOLDER.match(str(parameters.get(field, "")))
                if match is not None:
                    uses[match[1]] += 1
    return uses


def iter_states(definition: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every state of a definition, including those inside Parallel branches and Map processors."""
    for state in definition.get("States", {}).values():
        yield state
        for branch in state.get("Branches", []):
            yield from iter_states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from iter_states(state[key])
