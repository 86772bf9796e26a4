"""S3 objects and ECR images that start pipelines: a new version of a source's object, a pushed tag.

An S3 source (``S3Bucket``, ``S3ObjectKey``) starts on the bucket's EventBridge "Object
Created" event for exactly that key; the bucket must be versioned (CodePipeline's rule, and
what lets the execution fetch the version that started it). An ECR source
(``RepositoryName``, ``ImageTag``, default ``latest``) starts on "ECR Image Action" PUSH
SUCCESS for that tag. The execution is named after the version (S3's version id, the image
digest): a redelivered event, or a poll that finds the same version, starts nothing new.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, S3EventNotificationEventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from stepline.definition.models import PipelineDeclaration
from stepline.observability import logger
from stepline.ports.pipelines import Registry
from stepline.ports.workflows import Workflows
from stepline.triggers.matching import POLLED, Match, polls
from stepline.triggers.starting import TriggerReport, start_one


class ObjectChange(BaseModel):
    """A new version of an S3 object, or an image pushed to an ECR repository under a tag."""

    model_config = ConfigDict(frozen=True)

    provider: Literal["S3", "ECR"]
    location: str  # the bucket, or the repository
    name: str  # the object key, or the image tag
    version: str  # S3's version id ("" for an unversioned bucket), or the image digest
    etag: str = ""
    event_id: str = Field(min_length=1)

    def execution_name(self) -> str:
        digest = hashlib.sha256(f"{self.provider}\0{self.location}\0{self.name}\0{self.version}".encode()).hexdigest()
        label = re.sub(r"[^A-Za-z0-9_-]", "-", self.name.rsplit("/", 1)[-1])[:40]
        return f"{label}-{digest[:24]}"

    def revision(self) -> dict[str, object]:
        """What the source action fetches (the S3 source reads ``versionId``)."""
        if self.provider == "S3":
            return {
                "provider": "S3",
                "bucket": self.location,
                "key": self.name,
                "versionId": self.version,
                "etag": self.etag,
            }
        return {"provider": "ECR", "repositoryName": self.location, "imageTag": self.name, "imageDigest": self.version}


def from_s3(event: S3EventNotificationEventBridgeModel) -> ObjectChange:
    detail = event.detail
    return ObjectChange(
        provider="S3",
        location=detail.bucket.name,
        name=detail.object.key,
        version=detail.object.version_id or "",
        etag=detail.object.etag,
        event_id=event.id,
    )


class EcrImageActionDetail(BaseModel):
    """``detail`` of "ECR Image Action" (Amazon ECR User Guide, "Amazon ECR events and EventBridge")."""

    model_config = ConfigDict(populate_by_name=True)

    result: str
    repository_name: str = Field(alias="repository-name")
    image_digest: str = Field(alias="image-digest")
    action_type: str = Field(alias="action-type")
    image_tag: str = Field("", alias="image-tag")


class EcrImageAction(EventBridgeModel):
    detail: EcrImageActionDetail


def from_ecr(event: EcrImageAction) -> ObjectChange | None:
    """A successful push of a tagged image; None for deletes, failures and untagged pushes."""
    detail = event.detail
    if detail.action_type != "PUSH" or detail.result != "SUCCESS" or not detail.image_tag:
        return None
    return ObjectChange(
        provider="ECR",
        location=detail.repository_name,
        name=detail.image_tag,
        version=detail.image_digest,
        event_id=event.id,
    )


def match_object(pipeline: PipelineDeclaration, change: ObjectChange) -> Match:
    outcome = Match(pipeline.name)
    for action in pipeline.stages[0].actions if pipeline.stages else []:
        type_id = action.action_type_id
        if type_id.category != "Source" or type_id.provider != change.provider:
            continue
        configuration = action.configuration
        if change.provider == "S3":
            location, name = configuration.get("S3Bucket"), configuration.get("S3ObjectKey")
        else:
            location, name = configuration.get("RepositoryName"), configuration.get("ImageTag") or "latest"
        if location != change.location:
            continue
        if polls(action):
            outcome.reasons.append(f"{action.name}: {POLLED}")
        elif name != change.name:
            outcome.reasons.append(f"{action.name}: watches {name!r}, not {change.name!r}")
        elif change.provider == "S3" and not change.version:
            outcome.reasons.append(f"{action.name}: bucket {change.location} is not versioned; S3 sources need it")
        else:
            outcome.actions.append(action.name)
    if not outcome.actions and not outcome.reasons:
        outcome.reasons.append(f"no source action reads {change.provider} {change.location}")
    return outcome


def start_object_matching(change: ObjectChange, registry: Registry, workflows: Workflows) -> TriggerReport:
    report = TriggerReport()
    for entry in sorted(registry.all(), key=lambda e: e.name):
        outcome = match_object(entry.pipeline, change)
        if not outcome.starts:
            report.skipped[entry.name] = outcome.reasons
            continue
        execution_input: dict[str, object] = {
            "trigger": {
                "type": "CloudWatchEvent",
                "eventId": change.event_id,
                "revisions": {action: change.revision() for action in outcome.actions},
            },
            "variables": {},
        }
        start_one(entry, change.execution_name(), execution_input, workflows, report)
    logger.info(
        "object change handled",
        extra={
            "provider": change.provider,
            "location": change.location,
            "name": change.name,
            "version": change.version,
            "started": report.started,
            "already_started": report.already_started,
            "skipped": report.skipped,
        },
    )
    return report
