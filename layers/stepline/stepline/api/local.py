"""Routes only `stepline serve` answers: registering pipelines, and pushes from git hooks.

Both need the API token. On AWS these answer 503 (no local host is installed): pipelines are
deployed with `stepline deploy`, and repositories report changes through EventBridge.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from stepline import wiring
from stepline.api.problems import ApiProblem
from stepline.api.requests import json_body, require_bearer
from stepline.compiler import CompilationError
from stepline.definition import DefinitionError, valid_pipeline
from stepline.deploy import starts_on
from stepline.errors import InvalidInput
from stepline.triggers.changes import from_git_hook
from stepline.triggers.schedules import parse_schedule
from stepline.triggers.starting import TriggerReport, start_matching

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


class ApplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    declaration: dict[str, Any]
    source: str = "request"
    schedule: str | None = None  # a cron or rate expression (stepline.triggers.schedules)
    report_status: bool = Field(False, alias="reportStatus")  # commit statuses (stepline.triggers.reporting)
    # The local repository of each CodeCommit, connection or GitHub source: name → absolute path.
    sources: dict[str, str] = Field(default_factory=dict)


class GitPush(BaseModel):
    """What a git hook sends (stepline.local.hooks): one ref a push or commit moved."""

    model_config = ConfigDict(extra="forbid")

    repository: str = Field(min_length=1)
    ref: str = Field(pattern=r"^refs/(heads|tags)/.+")
    before: str = ""
    after: str = ""


@router.post("/api/pipelines")
def apply_pipeline() -> tuple[dict[str, Any], int]:
    require_bearer(router.current_event, wiring.api_token())
    body = json_body(router.current_event, ApplyBody)
    try:
        loaded = valid_pipeline(body.declaration, body.source)
    except DefinitionError as error:
        problems = "; ".join(str(problem) for problem in error.problems[:10])
        raise ApiProblem(400, "Invalid pipeline", f"{body.source}: {problems}") from None
    if body.schedule is not None:
        try:
            parse_schedule(body.schedule)
        except InvalidInput as error:
            raise ApiProblem(400, "Bad schedule", f"{body.source}: {error}") from None
    try:
        entry = wiring.local_host().apply(loaded.pipeline, report_status=body.report_status, sources=body.sources)
    except CompilationError as error:
        raise ApiProblem(400, "Not runnable", f"{body.source}: {'; '.join(error.problems)}") from None
    # Applied again without a schedule, the pipeline has none: the command says what there is.
    wiring.local_schedules().put(entry.name, body.schedule, wiring.now())
    schedule = [f"on schedule {body.schedule}"] if body.schedule else []
    return {
        "pipeline": entry.name,
        "stateMachineArn": entry.state_machine_arn,
        "startsOn": starts_on(loaded.pipeline, entry.sources) + schedule,
        "schedule": body.schedule,
        "reportStatus": entry.report_status,
    }, 201


@router.post("/api/hooks/git")
def git_push() -> tuple[dict[str, Any], int]:
    require_bearer(router.current_event, wiring.api_token())
    return start_from_hook(json_body(router.current_event, GitPush)).as_json(), 202


def start_from_hook(push: GitPush) -> TriggerReport:
    """What a hook's push starts: sent now, or kept in the outbox while the server was down."""
    change = from_git_hook(push.repository, push.ref, push.before, push.after)
    if change is None:  # the model's pattern admits only branches and tags
        raise ApiProblem(400, "Bad request", f"ref {push.ref!r} is neither a branch nor a tag")
    return start_matching(change, wiring.registry(), wiring.workflows(), wiring.changed_paths("Git"))
