"""The levers people pull, as plain functions the CLI, the JSON API and the console call:
CodePipeline's DisableStageTransition / EnableStageTransition, StopPipelineExecution and
RollbackStage, with
its rules and limits. Each checks its request against the pipeline first (a bad one is
``InvalidInput``, ``NotFound`` or ``Conflict`` naming what is wrong: the API and CLI map those
kinds) and then goes through the pipeline's lock record, as the stage gate does.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from stepline.compiler import rollback
from stepline.control import gate
from stepline.control.gate import Mode, Transition
from stepline.control.service import RunControl
from stepline.errors import Conflict, InvalidInput, NotFound
from stepline.ports.pipelines import RegisteredPipeline
from stepline.ports.workflows import ExecutionNotFound, Workflows, execution_arn

REASON_LIMIT = 300  # DisableStageTransition's reason: 1–300 characters
STOP_REASON_LIMIT = 200  # StopPipelineExecution's reason


def _mode(entry: RegisteredPipeline) -> Mode:
    mode: Mode = entry.pipeline.execution_mode.value
    return mode


def _inbound_stage(entry: RegisteredPipeline, stage: str) -> None:
    names = [declared.name for declared in entry.pipeline.stages]
    if stage not in names:
        raise NotFound(f"{entry.name} has no stage {stage!r} (its stages: {', '.join(names)})")
    if stage == names[0]:
        raise InvalidInput(f"{stage} is {entry.name}'s first stage: it has no inbound transition")


def disable_transition(control: RunControl, entry: RegisteredPipeline, stage: str, reason: str, by: str = "") -> None:
    """Executions reaching ``stage`` wait in front of it until it is enabled again."""
    _inbound_stage(entry, stage)
    reason = reason.strip()
    if not 1 <= len(reason) <= REASON_LIMIT:
        raise InvalidInput(f"reason: give 1 to {REASON_LIMIT} characters saying why (got {len(reason)})")
    now = control.clock()
    control.apply(entry.name, lambda record: gate.disable(record, stage, reason, by, now))


def enable_transition(control: RunControl, entry: RegisteredPipeline, stage: str) -> None:
    """The latest execution waiting in front of ``stage`` proceeds (unless it waited 30 days)."""
    _inbound_stage(entry, stage)
    now, mode = control.clock(), _mode(entry)
    control.apply(entry.name, lambda record: gate.enable(record, stage, mode, now))


def transitions(control: RunControl, entry: RegisteredPipeline) -> dict[str, dict[str, Any]]:
    """Each stage's inbound transition as GetPipelineState reports it (``inboundTransitionState``)."""
    record, _ = control.locks.read(entry.name)
    states: dict[str, dict[str, Any]] = {}
    for declared in entry.pipeline.stages[1:]:
        lock = record.stages.get(declared.name)
        disabled: Transition | None = lock.disabled if lock is not None else None
        state: dict[str, Any] = {"enabled": disabled is None}
        if disabled is not None:
            state.update(lastChangedBy=disabled.by, lastChangedAt=disabled.at, disabledReason=disabled.reason)
        states[declared.name] = state
    return states


def stop_execution(
    control: RunControl,
    entry: RegisteredPipeline,
    execution_arn: str,
    described: dict[str, Any],
    reason: str,
    abandon: bool,
    stopper: Workflows,
) -> str:
    """StopPipelineExecution. Stop and wait: running actions finish, no new one starts (the next
    gate refuses the execution: Stopping, then Stopped). Abandon — also after stop and wait, to
    escalate: the execution is stopped now, its running actions Abandoned (their providers may
    keep running, as on CodePipeline), and the stages it held are released."""
    if str(described.get("status")) != "RUNNING":
        raise Conflict(f"the execution is not in progress: it is {described.get('status')}")
    reason = reason.strip()
    if len(reason) > STOP_REASON_LIMIT:
        raise InvalidInput(f"reason: at most {STOP_REASON_LIMIT} characters (got {len(reason)})")
    name = str(described.get("name") or execution_arn.rsplit(":", 1)[-1])
    if not abandon:
        control.apply(entry.name, lambda record: gate.stop(record, name, reason or "stopped by request"))
        return "Stopping"
    stopper.stop(execution_arn, "Stopped", reason or "stopped and abandoned by request")
    control.release(entry.name, name, _mode(entry))
    return "Stopped"


def rollback_stage(entry: RegisteredPipeline, stage: str, target: str, workflows: Workflows) -> str:
    """RollbackStage: a new execution of type ROLLBACK that runs ``stage`` (and the stages after
    it) again with what the target execution ended with — its source revisions, pipeline
    variables, artifacts and action variables. V2 pipelines not in PARALLEL mode; not the first
    stage; the target must have succeeded and not be a rollback itself. Returns the new execution's ARN."""
    pipeline = entry.pipeline
    if not rollback.supported(pipeline):
        raise InvalidInput(f"{entry.name}: stage rollback needs a V2 pipeline whose executionMode is not PARALLEL")
    _inbound_stage(entry, stage)
    try:
        described = workflows.describe(execution_arn(entry.state_machine_arn, target))
    except ExecutionNotFound:
        raise NotFound(f"{entry.name} has no execution {target!r}") from None
    if described.get("status") != "SUCCEEDED":
        raise Conflict(f"the target execution {target} did not succeed (it is {described.get('status')})")
    given = json.loads(str(described.get("input") or "{}"))
    if given.get("trigger", {}).get("executionType") == "ROLLBACK":
        raise Conflict(f"{target} is a rollback execution: roll back to the execution it rolled back to instead")
    ended = json.loads(str(described.get("output") or "{}"))
    variables = dict(ended.get("variables") or {})
    revisions = given.get("trigger", {}).get("revisions", {})
    payload = {
        "trigger": {
            "type": "ManualRollback",
            "executionType": "ROLLBACK",
            "rollbackTarget": target,
            "revisions": revisions,
        },
        "variables": variables.pop("variables", {}),
        "rollback": {"stage": stage},
        "restore": {
            "artifacts": ended.get("artifacts") or {},
            "namespaces": {name: variables.get(name, {}) for name in rollback.namespaces(pipeline)},
        },
    }
    return workflows.start(entry.state_machine_arn, str(uuid.uuid4()), json.dumps(payload))
