"""PutApprovalResult: a decision on a waiting manual approval, with the token GetPipelineState
showed (as the AWS CLI documents it), taking the same once-only path as the review page and
`stepline approve` (``stepline.actions.approval.decide``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NoReturn

from stepline import wiring
from stepline.actions.approval import AlreadyDecided, DecisionRefused, approval_id, decide
from stepline.api.codepipeline.errors import AwsError
from stepline.api.codepipeline.pipelines import entry_of
from stepline.api.codepipeline.protocol import Call, operation
from stepline.api.codepipeline.state import approval_token

_RECENT = 20  # executions whose tokens a refused token is compared with
_CALLER = "stepline (CodePipeline API)"  # PutApprovalResult names no reviewer: AWS records the caller


def _declared(call: Call) -> None:
    """StageNotFoundException or ActionNotFoundException for names the pipeline does not have."""
    entry = entry_of(call.input["pipelineName"])
    stages = {stage["name"]: stage for stage in entry.declaration["stages"]}
    stage = stages.get(call.input["stageName"])
    if stage is None:
        raise AwsError("StageNotFoundException", f"Stage '{call.input['stageName']}' does not exist in the pipeline")
    if call.input["actionName"] not in {action["name"] for action in stage["actions"]}:
        raise AwsError(
            "ActionNotFoundException", f"Action '{call.input['actionName']}' does not exist in stage '{stage['name']}'"
        )


def _refuse_token(call: Call, token: str) -> NoReturn:
    """ApprovalAlreadyCompletedException for the token of a recent execution's decided approval,
    else InvalidApprovalTokenException."""
    entry = entry_of(call.input["pipelineName"])
    stage, action = call.input["stageName"], call.input["actionName"]
    for listed in wiring.workflows().executions(entry.state_machine_arn, limit=_RECENT):
        execution = str(listed["name"])
        if approval_token(entry.name, execution, stage, action) == token:
            found = wiring.approvals().get(approval_id(entry.name, execution, stage, action))
            if found is not None and found[0].status != "Pending":
                raise AwsError(
                    "ApprovalAlreadyCompletedException",
                    f"The approval was already {found[0].status.lower()} by {found[0].decided_by}",
                )
    raise AwsError(
        "InvalidApprovalTokenException",
        f"The approval action '{action}' in stage '{stage}' has no approval waiting with token {token}",
    )


@operation("PutApprovalResult")
def put_approval_result(call: Call) -> dict[str, Any]:
    """Decide the waiting approval the token names."""
    _declared(call)
    pipeline, stage, action = call.input["pipelineName"], call.input["stageName"], call.input["actionName"]
    store = wiring.approvals()
    # A decision recorded but never answered is decided again (its answer is sent again).
    waiting = store.pending() + [approval for approval, _ in store.unanswered()]
    here = [a for a in waiting if (a.pipeline, a.stage, a.action) == (pipeline, stage, action)]
    token = call.input["token"]
    matching = [a for a in here if approval_token(a.pipeline, a.execution_name, a.stage, a.action) == token]
    if not matching:
        _refuse_token(call, token)
    result = call.input["result"]
    try:
        decided = decide(
            matching[0].id,
            result["status"] == "Approved",
            result["summary"],
            _CALLER,
            store,
            wiring.task_callbacks(),
            wiring.clock(),
        )
    except AlreadyDecided as refused:
        raise AwsError("ApprovalAlreadyCompletedException", str(refused)) from None
    except DecisionRefused as refused:  # gone, or expired: the token no longer names a waiting approval
        raise AwsError("InvalidApprovalTokenException", str(refused)) from None
    return {"approvedAt": datetime.fromtimestamp(decided.decided_at or call.now.timestamp(), UTC)}
