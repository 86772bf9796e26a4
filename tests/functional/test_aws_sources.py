"""Source providers on AWS: S3 under moto; CodeCommit through botocore's Stubber (moto has no GetFolder)."""

from __future__ import annotations

import copy
import io
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from stepline.actions.errors import ArtifactError, SourceNotFoundError, TransientActionError
from stepline.actions.request import ActionRequest
from stepline.actions.source import run_source_action
from stepline.adapters.aws.sources import CodeCommitSource, S3ObjectSource
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.errors import ConfigurationError
from tests.helpers import load_event
from tests.moto_env import moto_aws

pytestmark = pytest.mark.functional


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, text in files.items():
            bundle.writestr(name, text)
    return buffer.getvalue()


def s3_request(trigger: dict[str, Any] | None = None) -> ActionRequest:
    event = copy.deepcopy(load_event("source/codecommit-branch-head.json"))
    event["action"]["actionTypeId"]["provider"] = "S3"
    event["action"]["configuration"] = {"S3Bucket": "releases", "S3ObjectKey": "app/source.zip"}
    event["trigger"] = trigger or {}
    return ActionRequest.model_validate(event)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with moto_aws(monkeypatch):
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="releases")
        client.put_bucket_versioning(Bucket="releases", VersioningConfiguration={"Status": "Enabled"})
        yield client


def read_artifact(result: dict[str, Any]) -> dict[str, bytes]:
    location = next(iter(result["artifacts"].values()))["location"].removeprefix("file://")
    with zipfile.ZipFile(location) as bundle:
        return {info.filename: bundle.read(info) for info in bundle.infolist()}


def test_an_s3_source_is_the_latest_version_or_the_one_the_trigger_names(s3: Any, tmp_path: Path) -> None:
    first = s3.put_object(Bucket="releases", Key="app/source.zip", Body=zipped({"v": "1"}))["VersionId"]
    s3.put_object(Bucket="releases", Key="app/source.zip", Body=zipped({"v": "2"}))
    store = LocalArtifactStore(tmp_path / "artifacts")
    latest = run_source_action(s3_request(), S3ObjectSource(s3), store)
    assert read_artifact(latest) == {"v": b"2"}
    assert set(latest["variables"]) == {"ETag", "VersionId"}
    assert latest["variables"]["VersionId"] != first
    pinned = run_source_action(s3_request({"revisions": {"Source": {"versionId": first}}}), S3ObjectSource(s3), store)
    assert (read_artifact(pinned), pinned["variables"]["VersionId"]) == ({"v": b"1"}, first)


def test_s3_source_problems_are_named(s3: Any, tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "artifacts")
    with pytest.raises(SourceNotFoundError, match=r"s3://releases/app/source.zip does not exist"):
        run_source_action(s3_request(), S3ObjectSource(s3), store)
    s3.put_object(Bucket="releases", Key="app/source.zip", Body=b"plain text, not a zip")
    with pytest.raises(ArtifactError, match="is not a zip file"):
        run_source_action(s3_request(), S3ObjectSource(s3), store)
    s3.create_bucket(Bucket="unversioned")
    event = s3_request().model_dump(by_alias=True)
    event["action"]["configuration"]["S3Bucket"] = "unversioned"
    with pytest.raises(ConfigurationError, match="the bucket must have versioning enabled"):
        run_source_action(ActionRequest.model_validate(event), S3ObjectSource(s3), store)


# --- CodeCommit, through the Stubber with responses in the API's documented shapes -------------

COMMIT = "3e9ecf5a1ad7a2c5f8e6b4d2c1a09f8e7d6c5b4a"
REPO = "FriendReminders"


def stubbed_codecommit() -> tuple[Any, Stubber]:
    client = boto3.client("codecommit", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def expect_tree(stub: Stubber) -> None:
    spec = {"repositoryName": REPO, "commitSpecifier": COMMIT}
    stub.add_response(
        "get_commit",
        {
            "commit": {
                "commitId": COMMIT,
                "treeId": "a" * 40,
                "parents": ["b" * 40],
                "message": "Send reminders at 9am\n",
                "author": {"name": "Ada", "email": "ada@example.com", "date": "1767225660 +0900"},
                "committer": {"name": "Ada", "email": "ada@example.com", "date": "1767225720 +0000"},
            }
        },
        {"repositoryName": REPO, "commitId": COMMIT},
    )
    stub.add_response(
        "get_folder",
        {
            "commitId": COMMIT,
            "folderPath": "/",
            "treeId": "a" * 40,
            "subFolders": [{"treeId": "c" * 40, "absolutePath": "/src", "relativePath": "src"}],
            "files": [
                {"blobId": "1" * 40, "absolutePath": "/README.md", "relativePath": "README.md", "fileMode": "NORMAL"},
                {"blobId": "2" * 40, "absolutePath": "/run.sh", "relativePath": "run.sh", "fileMode": "EXECUTABLE"},
            ],
            "symbolicLinks": [
                {"blobId": "3" * 40, "absolutePath": "/latest", "relativePath": "latest", "fileMode": "SYMLINK"}
            ],
            "subModules": [],
        },
        {**spec, "folderPath": "/"},
    )
    for path, content in (("/README.md", b"# Reminders"), ("/run.sh", b"#!/bin/sh\n")):
        stub.add_response(
            "get_file",
            {
                "commitId": COMMIT,
                "blobId": "1" * 40,
                "filePath": path,
                "fileMode": "NORMAL",
                "fileSize": len(content),
                "fileContent": content,
            },
            {**spec, "filePath": path},
        )
    stub.add_response("get_blob", {"content": b"run.sh"}, {"repositoryName": REPO, "blobId": "3" * 40})
    stub.add_response(
        "get_folder",
        {
            "commitId": COMMIT,
            "folderPath": "/src",
            "files": [
                {"blobId": "4" * 40, "absolutePath": "/src/app.py", "relativePath": "app.py", "fileMode": "NORMAL"}
            ],
            "subFolders": [],
            "symbolicLinks": [],
        },
        {**spec, "folderPath": "/src"},
    )
    stub.add_response(
        "get_file",
        {
            "commitId": COMMIT,
            "blobId": "4" * 40,
            "filePath": "/src/app.py",
            "fileMode": "NORMAL",
            "fileSize": 5,
            "fileContent": b"print",
        },
        {**spec, "filePath": "/src/app.py"},
    )


def test_codecommit_branch_head_is_fetched_through_the_api(tmp_path: Path) -> None:
    client, stub = stubbed_codecommit()
    stub.add_response(
        "get_branch",
        {"branch": {"branchName": "master", "commitId": COMMIT}},
        {"repositoryName": REPO, "branchName": "master"},
    )
    expect_tree(stub)
    request = ActionRequest.model_validate(load_event("source/codecommit-branch-head.json"))
    with stub:
        result = run_source_action(request, CodeCommitSource(client), LocalArtifactStore(tmp_path / "artifacts"))
    stub.assert_no_pending_responses()
    assert read_artifact(result) == {
        "README.md": b"# Reminders",
        "run.sh": b"#!/bin/sh\n",
        "latest": b"run.sh",
        "src/app.py": b"print",
    }
    location = result["artifacts"]["SourceArtifact"]["location"].removeprefix("file://")
    with zipfile.ZipFile(location) as bundle:
        assert stat.S_ISLNK(bundle.getinfo("latest").external_attr >> 16)
        assert (bundle.getinfo("run.sh").external_attr >> 16) & 0o111
    assert result["variables"] == {
        "CommitId": COMMIT,
        "CommitMessage": "Send reminders at 9am",
        "RepositoryName": REPO,
        "BranchName": "master",
        "AuthorDate": "2026-01-01T09:01:00+09:00",
        "CommitterDate": "2026-01-01T00:02:00+00:00",
    }


def test_codecommit_commit_from_the_trigger_skips_the_branch_lookup(tmp_path: Path) -> None:
    client, stub = stubbed_codecommit()
    expect_tree(stub)
    event = load_event("pipeline/start-codecommit-push.json")
    request = ActionRequest.model_validate(
        {
            **load_event("source/codecommit-branch-head.json"),
            "trigger": {
                **event["trigger"],
                "revisions": {"Source": {**event["trigger"]["revisions"]["Source"], "commitId": COMMIT}},
            },
        }
    )
    with stub:
        result = run_source_action(request, CodeCommitSource(client), LocalArtifactStore(tmp_path / "artifacts"))
    assert result["variables"]["CommitId"] == COMMIT


@pytest.mark.parametrize(
    ("code", "error", "message"),
    [
        (
            "BranchDoesNotExistException",
            SourceNotFoundError,
            "CodeCommit repository 'FriendReminders' has no branch 'master'",
        ),
        (
            "RepositoryDoesNotExistException",
            SourceNotFoundError,
            "CodeCommit repository 'FriendReminders' does not exist",
        ),
        ("ThrottlingException", TransientActionError, "CodeCommit throttled the request"),
    ],
)
def test_codecommit_errors_are_named(tmp_path: Path, code: str, error: type[Exception], message: str) -> None:
    client, stub = stubbed_codecommit()
    stub.add_client_error("get_branch", service_error_code=code, service_message="from the service")
    request = ActionRequest.model_validate(load_event("source/codecommit-branch-head.json"))
    with stub, pytest.raises(error, match=message):
        run_source_action(request, CodeCommitSource(client), LocalArtifactStore(tmp_path / "artifacts"))
