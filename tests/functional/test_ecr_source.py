"""Source/AWS/ECR: under moto (ECR), a tag read as its digest, imageDetail.json as the artifact
and CodePipeline's output variables; on one machine, an image reference file instead."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stepline.actions.ecr_source import EcrImageSource
from stepline.actions.errors import SourceNotFoundError
from stepline.actions.request import ActionRequest
from stepline.actions.source import run_source_action
from stepline.adapters.aws.ecr import EcrImages
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.errors import ConfigurationError
from tests.helpers import load_event

pytestmark = pytest.mark.functional

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7023,
            "digest": "sha256:" + "b" * 64,
        },
        "layers": [],
    }
)


@pytest.fixture
def ecr(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("ecr", region_name="us-east-1")
        client.create_repository(repositoryName="rails_app")
        digest = "sha256:" + hashlib.sha256(MANIFEST.encode()).hexdigest()
        # The digest is given (ECR computes it from the manifest; moto hashes nothing without it)
        pushed = client.put_image(
            repositoryName="rails_app", imageManifest=MANIFEST, imageTag="release", imageDigest=digest
        )
        client.digest = pushed["image"]["imageId"]["imageDigest"]  # as ECR computed it for the push
        yield client


def request() -> ActionRequest:
    return ActionRequest.model_validate(load_event("source/ecr-image-tag.json"))


def image_detail(result: dict[str, object]) -> dict[str, object]:
    artifacts = result["artifacts"]
    assert isinstance(artifacts, dict)
    with zipfile.ZipFile(artifacts["ImageArtifact"]["location"].removeprefix("file://")) as archive:
        assert archive.namelist() == ["imageDetail.json"]
        detail: dict[str, object] = json.loads(archive.read("imageDetail.json"))
        return detail


def test_a_tag_is_read_as_its_digest_with_codepipelines_variables(ecr: Any, tmp_path: Path) -> None:
    # Given an image tagged "release" in ECR, and the sample ECR source action naming that tag
    digest = ecr.digest
    # When the source action runs
    result = run_source_action(request(), EcrImageSource(EcrImages(ecr)), LocalArtifactStore(tmp_path))
    # Then the variables are CodePipeline's, the URI pinned by digest
    uri = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/rails_app@{digest}"
    assert result["variables"] == {
        "RegistryId": "123456789012",
        "RepositoryName": "rails_app",
        "ImageTag": "release",
        "ImageDigest": digest,
        "ImageURI": uri,
    }
    # And the artifact is the imageDetail.json CodeDeployToECS and builds read
    detail = image_detail(result)
    assert (detail["ImageURI"], detail["ImageDigest"], detail["ImageTags"]) == (uri, digest, ["release"])


def test_a_missing_tag_and_a_missing_repository_are_named(ecr: Any, tmp_path: Path) -> None:
    source = EcrImageSource(EcrImages(ecr))
    store = LocalArtifactStore(tmp_path)
    other_tag = request().model_copy(deep=True)
    other_tag.action.configuration["ImageTag"] = "v9"
    with pytest.raises(SourceNotFoundError) as caught:
        run_source_action(other_tag, source, store)
    assert "ECR source: ECR repository 'rails_app' has no image tagged 'v9'" in str(caught.value)
    other_repository = request().model_copy(deep=True)
    other_repository.action.configuration["RepositoryName"] = "nothing"
    with pytest.raises(SourceNotFoundError) as missing:
        run_source_action(other_repository, source, store)
    assert "ECR repository 'nothing' does not exist" in str(missing.value)


def test_on_one_machine_an_image_reference_file_stands_for_the_repository(tmp_path: Path) -> None:
    # Given the repository mapped to a reference file (no AWS at all: the ECR client is never asked)
    uri = "111122223333.dkr.ecr.us-east-1.amazonaws.com/rails_app@sha256:" + "c" * 64
    (tmp_path / "rails.json").write_text(json.dumps({"ImageURI": uri}))
    source = EcrImageSource(EcrImages(None), {"rails_app": "rails.json"}, tmp_path)
    result = run_source_action(request(), source, LocalArtifactStore(tmp_path / "artifacts"))
    assert result["variables"] == {
        "RegistryId": "111122223333",
        "RepositoryName": "rails_app",
        "ImageTag": "release",
        "ImageDigest": "sha256:" + "c" * 64,
        "ImageURI": uri,
    }
    assert image_detail(result)["ImageURI"] == uri
    (tmp_path / "rails.json").write_text('{"image": "x"}')
    with pytest.raises(ConfigurationError) as caught:
        run_source_action(request(), source, LocalArtifactStore(tmp_path / "artifacts"))
    assert 'must be a JSON object with "ImageURI"' in str(caught.value)


def test_a_run_started_by_a_push_fetches_the_pushed_digest_not_the_tags_latest(ecr: Any, tmp_path: Path) -> None:
    # Given the tag moved on to a second image after the push that started the run (the first
    # image also tagged v1: ECR keeps a retagged image untagged, moto deletes it unless another tag holds it)
    first = ecr.digest
    ecr.put_image(repositoryName="rails_app", imageManifest=MANIFEST, imageTag="v1", imageDigest=first)
    second_manifest = MANIFEST.replace('"layers": []', '"layers": [], "annotations": {"v": "2"}')
    second = "sha256:" + hashlib.sha256(second_manifest.encode()).hexdigest()
    moved = ecr.put_image(
        repositoryName="rails_app", imageManifest=second_manifest, imageTag="release", imageDigest=second
    )
    assert moved["image"]["imageId"]["imageDigest"] != first
    started = request().model_copy(
        update={"trigger": {"type": "CloudWatchEvent", "revisions": {"Image": {"imageDigest": first}}}}
    )
    # When the source action runs, Then it fetches the pushed image
    result = run_source_action(started, EcrImageSource(EcrImages(ecr)), LocalArtifactStore(tmp_path))
    assert result["variables"]["ImageDigest"] == first
