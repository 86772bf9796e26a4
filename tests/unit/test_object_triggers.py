"""S3 object versions and ECR image pushes, read from AWS's documented events (events/trigger/):
what starts, what does not, and why."""

from __future__ import annotations

from typing import Any

from stepline.definition import parse_pipeline
from stepline.triggers.events import read_event
from stepline.triggers.objects import ObjectChange, match_object
from tests.helpers import action, codebuild, load_event, pipeline


def declared(provider: str, configuration: dict[str, str]) -> Any:
    source = action("Source", "Source", provider, configuration=configuration, outputs=["Src"])
    document = pipeline(("Source", [source]), ("Build", [codebuild("Build", source="Src")]), name="p")
    return parse_pipeline(document, "p.json").pipeline


def test_an_s3_version_of_the_watched_key_starts_and_an_unversioned_bucket_says_why() -> None:
    change = read_event(load_event("trigger/s3-object-created.json"))
    assert isinstance(change, ObjectChange)
    on_key = declared("S3", {"S3Bucket": "example-bucket", "S3ObjectKey": "example-key"})
    assert match_object(on_key, change).actions == ["Source"]
    unversioned = change.model_copy(update={"version": ""})
    assert match_object(on_key, unversioned).reasons == [
        "Source: bucket example-bucket is not versioned; S3 sources need it"
    ]
    other_bucket = declared("S3", {"S3Bucket": "other", "S3ObjectKey": "example-key"})
    assert match_object(other_bucket, change).reasons == ["no source action reads S3 example-bucket"]


def test_each_version_is_its_own_execution_and_a_redelivery_is_the_same() -> None:
    change = read_event(load_event("trigger/s3-object-created.json"))
    assert isinstance(change, ObjectChange)
    again = change.model_copy(update={"event_id": "another-delivery"})
    newer = change.model_copy(update={"version": "Xz9.newer"})
    assert again.execution_name() == change.execution_name()
    assert newer.execution_name() != change.execution_name()
    assert len(change.execution_name()) <= 80


def test_an_ecr_push_matches_the_tag_latest_by_default_and_deletes_start_nothing() -> None:
    change = read_event(load_event("trigger/ecr-image-push.json"))
    assert isinstance(change, ObjectChange)
    assert match_object(declared("ECR", {"RepositoryName": "my-repository-name"}), change).starts
    tagged = declared("ECR", {"RepositoryName": "my-repository-name", "ImageTag": "release"})
    assert match_object(tagged, change).reasons == ["Source: watches 'release', not 'latest'"]
    deleted = load_event("trigger/ecr-image-push.json")
    deleted["detail"]["action-type"] = "DELETE"
    assert read_event(deleted) is None
