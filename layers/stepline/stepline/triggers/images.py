"""ECR image pushes start the pipelines whose ECR source watches that repository and tag, as
CodePipeline's EventBridge rule for an ECR source does ("ECR Image Action", PUSH, SUCCESS).

The execution is named after the event (only AWS emits ``aws.ecr`` events, and a redelivery
keeps the id), so a redelivered push starts nothing new; the source action fetches the pushed
digest, not whatever the tag points at by the time it runs.
"""

from __future__ import annotations

import hashlib
import json
import re

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from stepline.definition.models import PipelineDeclaration
from stepline.observability import logger
from stepline.ports.pipelines import Registry
from stepline.ports.workflows import Workflows
from stepline.triggers.starting import TriggerReport


class EcrImageDetail(BaseModel):
    """``detail`` of "ECR Image Action" (Amazon ECR User Guide, "Amazon ECR events and EventBridge")."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    result: str
    repository_name: str = Field(alias="repository-name")
    image_digest: str = Field("", alias="image-digest")
    action_type: str = Field(alias="action-type")
    image_tag: str = Field("", alias="image-tag")


class EcrImageAction(EventBridgeModel):
    detail: EcrImageDetail  # narrows Powertools' raw dict to the image event


def watching_sources(pipeline: PipelineDeclaration, repository: str, tag: str) -> list[str]:
    """The pipeline's ECR source actions that watch ``repository:tag`` (ImageTag defaults to latest)."""
    return [
        action.name
        for action in (pipeline.stages[0].actions if pipeline.stages else [])
        if action.action_type_id.key == ("Source", "AWS", "ECR")
        and action.configuration.get("RepositoryName") == repository
        and (action.configuration.get("ImageTag") or "latest") == tag
    ]


def execution_name(event: EcrImageAction) -> str:
    digest = hashlib.sha256(f"ECR\0{event.detail.repository_name}\0{event.id}".encode()).hexdigest()
    tag = re.sub(r"[^A-Za-z0-9_-]", "-", event.detail.image_tag)[:40]
    short = event.detail.image_digest.removeprefix("sha256:")[:8]
    return f"{tag}-{short or 'image'}-{digest[:20]}"


def start_on_image_push(event: EcrImageAction, registry: Registry, workflows: Workflows) -> TriggerReport:
    report = TriggerReport()
    detail = event.detail
    if detail.action_type != "PUSH" or detail.result != "SUCCESS" or not detail.image_tag:
        return report  # a deletion, a failed push, or an untagged image: nothing watches it
    revision = {
        "provider": "ECR",
        "repositoryName": detail.repository_name,
        "imageTag": detail.image_tag,
        "imageDigest": detail.image_digest,
    }
    for entry in sorted(registry.all(), key=lambda e: e.name):
        actions = watching_sources(entry.pipeline, detail.repository_name, detail.image_tag)
        if not actions:
            report.skipped[entry.name] = [f"no ECR source watches {detail.repository_name}:{detail.image_tag}"]
            continue
        payload = {
            "trigger": {
                "type": "CloudWatchEvent",
                "eventId": event.id,
                "revisions": {action: revision for action in actions},
            },
            "variables": {},
        }
        started = workflows.start_new(
            entry.state_machine_arn, execution_name(event), json.dumps(payload, sort_keys=True)
        )
        if started is None:
            report.already_started.append(entry.name)
        else:
            report.started.append(started)
    logger.info("image push handled", extra={"repository": detail.repository_name, **report.as_json()})
    return report
