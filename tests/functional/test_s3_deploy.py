"""Deploy/AWS/S3 under moto (S3, KMS): the sample events' actions write a built site extracted,
and an archive as one SSE-KMS object, with the ACL and Cache-Control asked for."""

from __future__ import annotations

import copy
import zipfile
from collections.abc import Iterator, Mapping
from io import BytesIO
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stepline.actions.deploy.s3 import deploy_to_bucket
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest
from stepline.adapters.aws.buckets import S3Buckets
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import put_directory
from tests.helpers import load_event

pytestmark = pytest.mark.functional

SITE = {"index.html": "<h1>Reminders</h1>", "assets/app.js": "console.log('hi')", "assets/app.css": "h1{}"}


class World:
    def __init__(self, tmp: Path) -> None:
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.s3.create_bucket(Bucket="reminders-site")
        self.s3.create_bucket(Bucket="reminders-releases")
        self.key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        self.store = LocalArtifactStore(tmp / "artifacts")
        self.tmp = tmp

    def request(self, event: str, files: Mapping[str, str], **configuration: str) -> ActionRequest:
        loaded: dict[str, Any] = copy.deepcopy(load_event(f"deploy_s3/{event}"))
        loaded["action"]["configuration"].update(configuration)
        folder = self.tmp / f"site-{len(list(self.tmp.iterdir()))}"
        folder.mkdir()
        for path, text in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(text)
        loaded["artifacts"]["SiteArtifact"] = put_directory(
            self.store, "RemindersSite", "manual-1", "SiteArtifact", folder
        )
        return ActionRequest.model_validate(loaded)

    def deploy(self, request: ActionRequest) -> dict[str, object]:
        return deploy_to_bucket(request, self.store, S3Buckets(self.s3))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield World(tmp_path)


def test_an_extracted_site_lands_under_the_object_key_with_types_acl_and_cache_control(world: World) -> None:
    # Given the sample action: Extract true, ObjectKey releases/#{codepipeline.PipelineExecutionId}
    request = world.request("extract-site.json", SITE)
    # When it deploys
    assert world.deploy(request) == {"artifacts": {}, "variables": {}}
    # Then every file is an object under the resolved prefix, typed by its extension
    listed = world.s3.list_objects_v2(Bucket="reminders-site")["Contents"]
    assert sorted(o["Key"] for o in listed) == [
        "releases/manual-1/assets/app.css",
        "releases/manual-1/assets/app.js",
        "releases/manual-1/index.html",
    ]
    page = world.s3.get_object(Bucket="reminders-site", Key="releases/manual-1/index.html")
    assert page["Body"].read() == b"<h1>Reminders</h1>"
    assert (page["ContentType"], page["CacheControl"]) == ("text/html", "max-age=300")
    script = world.s3.head_object(Bucket="reminders-site", Key="releases/manual-1/assets/app.js")
    assert script["ContentType"] in {"text/javascript", "application/javascript"}
    grants = world.s3.get_object_acl(Bucket="reminders-site", Key="releases/manual-1/index.html")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # bucket-owner-full-control: the owner only


def test_without_extract_the_zip_is_one_kms_encrypted_object(world: World) -> None:
    request = world.request("archive-kms.json", SITE, KMSEncryptionKeyARN=world.key)
    world.deploy(request)
    found = world.s3.get_object(Bucket="reminders-releases", Key="site-manual-1.zip")
    assert (found["ServerSideEncryption"], found["SSEKMSKeyId"]) == ("aws:kms", world.key)
    assert found["ContentType"] == "application/zip"
    with zipfile.ZipFile(BytesIO(found["Body"].read())) as archive:
        assert sorted(archive.namelist()) == sorted(SITE)


def test_a_missing_bucket_and_an_empty_artifact_fail_naming_them(world: World) -> None:
    with pytest.raises(ConfigurationError) as caught:
        world.deploy(world.request("extract-site.json", SITE, BucketName="nobody-has-this"))
    assert "bucket 'nobody-has-this' does not exist" in str(caught.value)
    with pytest.raises(ArtifactError) as empty:
        world.deploy(world.request("extract-site.json", {}))
    assert "Deploy.PublishSite: input artifact 'SiteArtifact' is empty: there is nothing to deploy" in str(empty.value)
