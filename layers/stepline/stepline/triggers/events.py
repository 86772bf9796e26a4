"""The EventBridge events the trigger function receives, each read into what it reports.

Routed by ``source`` and ``detail-type`` as the template's rules deliver them; an event of a
kind no rule sends is a ``ConfigurationError`` naming it (the function fails, EventBridge
retries and dead-letters it), never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from stepline.errors import ConfigurationError
from stepline.handlers import parse
from stepline.observability import correlate, logger
from stepline.ports.pipelines import Registry
from stepline.ports.sources import ChangedPaths
from stepline.ports.workflows import Workflows
from stepline.triggers.changes import CodeCommitStateChange, RepositoryChange, from_codecommit
from stepline.triggers.objects import EcrImageAction, ObjectChange, from_ecr, from_s3, start_object_matching
from stepline.triggers.polling import POLL_EVENT
from stepline.triggers.pulls import CodeCommitPullRequestChange, from_codecommit_pull_request
from stepline.triggers.schedules import SCHEDULE_EVENT, ScheduledStart, start_scheduled
from stepline.triggers.starting import TriggerReport, start_matching

REPOSITORY_STATE_CHANGE = "CodeCommit Repository State Change"
PULL_REQUEST_STATE_CHANGE = "CodeCommit Pull Request State Change"
OBJECT_CREATED = "Object Created"
ECR_IMAGE_ACTION = "ECR Image Action"


def read_event(event: dict[str, Any]) -> RepositoryChange | ObjectChange | None:
    """What an event reports (None: nothing CodePipeline would start on)."""
    kind = event.get("detail-type") if isinstance(event, dict) else None
    if kind == REPOSITORY_STATE_CHANGE:
        return from_codecommit(parse(CodeCommitStateChange, event))
    if kind == PULL_REQUEST_STATE_CHANGE:
        return from_codecommit_pull_request(parse(CodeCommitPullRequestChange, event))
    if kind == OBJECT_CREATED:
        return from_s3(parse(S3EventNotificationEventBridgeModel, event))
    if kind == ECR_IMAGE_ACTION:
        return from_ecr(parse(EcrImageAction, event))
    raise ConfigurationError(f"the trigger function does not read {kind!r} events")


def repository_change(event: dict[str, Any]) -> RepositoryChange | None:
    """The repository change a CodeCommit event reports (None: nothing to start)."""
    change = read_event(event)
    if isinstance(change, ObjectChange):
        raise ConfigurationError(f"a {change.provider} event reports no repository change")
    return change


def handle_event(
    event: dict[str, Any],
    registry: Registry,
    workflows: Workflows,
    changed_paths: Callable[[str], ChangedPaths | None],
    poller: Callable[[], TriggerReport] = TriggerReport,
) -> TriggerReport:
    """Start what the event matches, once per event (the poll schedule's event: poll)."""
    if isinstance(event, dict) and event.get("detail-type") == POLL_EVENT:
        return poller()
    if isinstance(event, dict) and event.get("detail-type") == SCHEDULE_EVENT:
        scheduled = parse(ScheduledStart, event)
        correlate(f"schedule:{scheduled.pipeline}:{scheduled.scheduled_time.isoformat()}")
        return start_scheduled(scheduled, registry, workflows)
    change = read_event(event)
    if change is None:
        logger.info("not a change CodePipeline acts on; nothing to start")
        return TriggerReport()
    correlate(change.event_id)
    if isinstance(change, ObjectChange):
        return start_object_matching(change, registry, workflows)
    return start_matching(change, registry, workflows, changed_paths(change.provider))
