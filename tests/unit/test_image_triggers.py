"""ECR image pushes ("ECR Image Action", the sample event in the documented shape) start the
pipelines whose ECR source watches the pushed repository and tag, once per event, on the
embedded engine with the SQLite registry."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from stepline.adapters.local.registry import SqliteRegistry
from stepline.adapters.local.workflows import EngineWorkflows
from stepline.engine import Engine
from stepline.triggers.images import EcrImageAction, start_on_image_push
from tests.helpers import action, codebuild, load_event, pipeline
from tests.unit.test_triggers import engine, register

__all__ = ["engine"]  # the fixture, shared with the repository trigger tests


def image_pipeline(name: str, repository: str = "rails_app", tag: str | None = "release") -> dict[str, Any]:
    configuration = {"RepositoryName": repository, **({"ImageTag": tag} if tag else {})}
    source = action("Image", "Source", "ECR", configuration=configuration, outputs=["ImageArtifact"])
    return pipeline(("Source", [source]), ("Build", [codebuild("Scan", source="ImageArtifact")]), name=name)


def push(**detail: str) -> EcrImageAction:
    event = copy.deepcopy(load_event("trigger/ecr-image-pushed.json"))
    event["detail"].update(detail)
    return EcrImageAction.model_validate(event)


def test_a_push_starts_the_pipelines_watching_that_tag_with_the_pushed_digest(tmp_path: Path, engine: Engine) -> None:
    # Given pipelines watching rails_app:release, rails_app:latest (ImageTag's default) and another repository
    registry = SqliteRegistry(tmp_path / "pipelines.sqlite")
    release = register(engine, registry, image_pipeline("rails-release"))
    register(engine, registry, image_pipeline("rails-latest", tag=None))
    register(engine, registry, image_pipeline("worker", repository="worker"))
    workflows = EngineWorkflows(engine)
    # When the sample push of rails_app:release arrives
    event = push()
    report = start_on_image_push(event, registry, workflows)
    # Then only the release pipeline starts, told the pushed digest
    assert [started.rsplit(":", 2)[-2] for started in report.started] == [release.rsplit(":", 1)[-1]]
    assert report.skipped == {
        "rails-latest": ["no ECR source watches rails_app:release"],
        "worker": ["no ECR source watches rails_app:release"],
    }
    given = json.loads(engine.describe_execution(report.started[0])["input"])
    assert given["trigger"]["type"] == "CloudWatchEvent"
    assert given["trigger"]["revisions"]["Image"] == {
        "provider": "ECR",
        "repositoryName": "rails_app",
        "imageTag": "release",
        "imageDigest": event.detail.image_digest,
    }
    # When EventBridge delivers the same event again, Then nothing new starts
    again = start_on_image_push(push(), registry, workflows)
    assert (again.started, again.already_started) == ([], ["rails-release"])


def test_deletions_failed_pushes_and_untagged_images_start_nothing(tmp_path: Path, engine: Engine) -> None:
    registry = SqliteRegistry(tmp_path / "pipelines.sqlite")
    register(engine, registry, image_pipeline("rails-release"))
    workflows = EngineWorkflows(engine)
    for event in (push(**{"action-type": "DELETE"}), push(result="FAILURE"), push(**{"image-tag": ""})):
        assert start_on_image_push(event, registry, workflows).started == []
