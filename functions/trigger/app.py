"""Repository changes (CodeCommit, EventBridge) and ECR image pushes start the registered
pipelines that match them."""

from typing import Any

from stepline import wiring
from stepline.handlers import parse
from stepline.observability import correlate, logger
from stepline.triggers.changes import CodeCommitStateChange, from_codecommit
from stepline.triggers.images import EcrImageAction, start_on_image_push
from stepline.triggers.starting import TriggerReport, start_matching


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if isinstance(event, dict) and event.get("detail-type") == "ECR Image Action":
        push = parse(EcrImageAction, event)
        correlate(push.id)
        return start_on_image_push(push, wiring.registry(), wiring.workflows()).as_json()
    change = from_codecommit(parse(CodeCommitStateChange, event))
    if change is None:
        logger.info("not a branch or tag change; nothing to start")
        return TriggerReport().as_json()
    correlate(change.event_id)
    report = start_matching(change, wiring.registry(), wiring.workflows(), wiring.changed_paths(change.provider))
    return report.as_json()
