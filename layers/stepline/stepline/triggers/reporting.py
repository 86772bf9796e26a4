"""Status back to the change: each execution of a pipeline that opted in (``--report-status``)
is reported on the GitHub, GitLab or Bitbucket commit it builds — pending when it starts, then
success, failure, or error (stopped, superseded) — with a link to the execution in the console.

The input is CodePipeline's "CodePipeline Pipeline Execution State Change" event (its
EventBridge shape). Step Functions' own "Step Functions Execution Status Change", which AWS
emits for every execution and the local runtime makes for each start and end, is read into
that shape first, so both runtimes take one path. A report is recorded through the
``Deliveries`` port before it is sent (forgotten if sending fails), so EventBridge's
redeliveries, or both events reporting one state, post each status once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from stepline.errors import ConfigurationError
from stepline.handlers import parse
from stepline.observability import logger
from stepline.ports.approvals import Deliveries
from stepline.ports.pipelines import Registry
from stepline.ports.statuses import CommitStatuses
from stepline.ports.workflows import Workflows, execution_arn

PIPELINE_STATE_CHANGE = "CodePipeline Pipeline Execution State Change"
FORGES = frozenset({"GitHub", "GitLab", "Bitbucket"})  # where a commit can carry a status
EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"
# CodePipeline's pipeline execution states → GitHub's commit status states, with what to say.
STATES = {
    "STARTED": ("pending", "running"),
    "RESUMED": ("pending", "running again"),
    "SUCCEEDED": ("success", "succeeded"),
    "FAILED": ("failure", "failed"),
    "STOPPED": ("error", "stopped"),
    "CANCELED": ("error", "canceled: the pipeline was updated"),
    "SUPERSEDED": ("error", "superseded by a newer execution"),
}
# Step Functions execution statuses → CodePipeline's pipeline execution states.
FROM_STEP_FUNCTIONS = {
    "RUNNING": "STARTED",
    "SUCCEEDED": "SUCCEEDED",
    "FAILED": "FAILED",
    "TIMED_OUT": "FAILED",
    "ABORTED": "STOPPED",
}


class PipelineExecutionDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    pipeline: str
    execution_id: str = Field(alias="execution-id")
    state: str


class PipelineExecutionStateChange(EventBridgeModel):
    detail: PipelineExecutionDetail


def from_step_functions(event: dict[str, Any], registry: Registry) -> dict[str, Any] | None:
    """A Step Functions execution status change as CodePipeline's event; None for executions of
    state machines that are no registered pipeline, and for statuses CodePipeline has no state for."""
    detail = event.get("detail", {})
    state = FROM_STEP_FUNCTIONS.get(str(detail.get("status")))
    machine = detail.get("stateMachineArn")
    entry = next((e for e in registry.all() if e.state_machine_arn == machine), None)
    if state is None or entry is None:
        return None
    return {
        "version": "0",
        "id": str(event.get("id") or f"{detail.get('executionArn')}:{state}"),
        "detail-type": PIPELINE_STATE_CHANGE,
        "source": "aws.codepipeline",
        "account": str(event.get("account", "000000000000")),
        "time": str(event.get("time", "1970-01-01T00:00:00Z")),
        "region": str(event.get("region", "us-east-1")),
        "resources": [],
        "detail": {"pipeline": entry.name, "execution-id": detail.get("name"), "state": state, "version": 1},
    }


def report(
    event: PipelineExecutionStateChange,
    registry: Registry,
    workflows: Workflows,
    statuses: CommitStatuses,
    deliveries: Deliveries,
    console_url: str,
) -> list[str]:
    """Post the execution's state on each GitHub, GitLab or Bitbucket commit it builds (and
    comment on the CodeCommit pull request that started it); what was posted."""
    detail = event.detail
    entry = registry.get(detail.pipeline)
    known = STATES.get(detail.state)
    if entry is None or not entry.report_status or known is None:
        return []
    described = workflows.describe(execution_arn(entry.state_machine_arn, detail.execution_id))
    revisions = json.loads(str(described.get("input") or "{}")).get("trigger", {}).get("revisions", {})
    commits = _targets(revisions)
    posted = []
    # A terminal state posts "pending" first if nothing did (its start event was lost or is late),
    # so a commit never shows pending after its result.
    for reported in (["STARTED"] if known[0] != "pending" else []) + [detail.state]:
        state, saying = STATES[reported]
        status = {
            "state": state,
            "target_url": f"{console_url.rstrip('/')}/pipelines/{entry.name}/executions/{detail.execution_id}",
            "description": f"Stepline {entry.name}: {saying}"[:140],
            "context": f"stepline/{entry.name}",
        }
        for (provider, repository, commit), extra in commits.items():
            key = f"status#{entry.name}#{detail.execution_id}#{state}#{provider}:{repository}@{commit}"
            if not deliveries.first_time(key):
                continue
            try:
                statuses.post(provider, repository, commit, {**status, **extra})
            except BaseException:
                deliveries.forget(key)  # the next delivery of the event tries again
                raise
            posted.append(f"{repository}@{commit[:12]} {state}")
    logger.info("commit statuses reported", extra={"pipeline": entry.name, "state": detail.state, "posted": posted})
    return posted


def _targets(revisions: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, str]]:
    """Where the execution is reported: each forge commit it builds, and each CodeCommit pull
    request that started it (with what CodeCommit's comment needs: the request, its base)."""
    found: dict[tuple[str, str, str], dict[str, str]] = {}
    for revision in revisions.values():
        if not isinstance(revision, dict) or not revision.get("commitId"):
            continue
        where = (str(revision.get("provider")), str(revision.get("repositoryName")), str(revision["commitId"]))
        request = revision.get("pullRequest")
        if where[0] in FORGES:
            found[where] = {}
        elif where[0] == "CodeCommit" and isinstance(request, dict):
            found[where] = {
                "pullRequestId": str(request.get("number")),
                "beforeCommitId": str(request.get("destinationCommitId")),
            }
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class StatusReporter:
    """The reporter with its adapters, as the composition root builds it."""

    registry: Registry
    workflows: Workflows
    statuses: CommitStatuses
    deliveries: Deliveries
    console_url: str

    def __call__(self, event: dict[str, Any]) -> list[str]:
        """Report a CodePipeline (or Step Functions) execution state change; what was posted."""
        kind = event.get("detail-type") if isinstance(event, dict) else None
        if kind == EXECUTION_STATUS_CHANGE:
            translated = from_step_functions(event, self.registry)
            if translated is None:
                return []
            event = translated
        elif kind != PIPELINE_STATE_CHANGE:
            raise ConfigurationError(f"the status function does not read {kind!r} events")
        change = parse(PipelineExecutionStateChange, event)
        return report(change, self.registry, self.workflows, self.statuses, self.deliveries, self.console_url)
