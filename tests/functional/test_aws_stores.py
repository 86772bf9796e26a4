"""The S3 artifact store and Secrets Manager secret store, under moto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from stepline.adapters.aws.artifacts import S3ArtifactStore
from stepline.adapters.aws.secrets import SecretsManagerSecretStore
from stepline.ports.artifacts import ArtifactNotFound, get_into, put_directory
from tests.moto_env import create_table, moto_aws

pytestmark = pytest.mark.functional


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with moto_aws(monkeypatch):
        yield


def test_artifacts_go_to_the_bucket_encrypted_and_come_back(aws: None, tmp_path: Path) -> None:
    s3: Any = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="stepline-artifacts")
    store = S3ArtifactStore(s3, "stepline-artifacts")
    source = tmp_path / "src"
    source.mkdir()
    (source / "index.js").write_text("exports.handler = () => 1;")
    reference = put_directory(store, "FriendReminders", "exec-9", "SourceArtifact", source)
    assert reference == {"type": "S3", "location": "s3://stepline-artifacts/FriendReminders/exec-9/SourceArtifact.zip"}
    head = s3.head_object(Bucket="stepline-artifacts", Key="FriendReminders/exec-9/SourceArtifact.zip")
    assert head["ServerSideEncryption"] == "AES256"
    assert get_into(store, reference, tmp_path / "out") == ["index.js"]
    with pytest.raises(ArtifactNotFound):
        store.get({"type": "S3", "location": "s3://stepline-artifacts/missing.zip"}, tmp_path / "m.zip")


def test_kms_encryption_when_a_key_is_given(aws: None, tmp_path: Path) -> None:
    s3: Any = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="stepline-artifacts")
    key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    store = S3ArtifactStore(s3, "stepline-artifacts", kms_key_id=key)
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    store.put("p", "e", "Out", archive)
    head = s3.head_object(Bucket="stepline-artifacts", Key="p/e/Out.zip")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"].split("/")[-1]) == ("aws:kms", key)


def test_secrets_whole_or_by_json_key(aws: None) -> None:
    client: Any = boto3.client("secretsmanager", region_name="us-east-1")
    client.create_secret(Name="stepline/github", SecretString='{"token": "ghp_x", "webhook": "s3cr3t"}')
    client.create_secret(Name="plain", SecretString="value")
    store = SecretsManagerSecretStore(client)
    assert store.get("plain") == "value"
    assert store.get("stepline/github:webhook") == "s3cr3t"
    with pytest.raises(LookupError, match="has no JSON key 'nope'"):
        store.get("stepline/github:nope")
    with pytest.raises(LookupError, match="ResourceNotFoundException"):
        store.get("absent")


def test_a_recorded_decision_is_unanswered_until_its_answer_is_marked(aws: None) -> None:
    # Given the approvals table and a pending approval
    from stepline.adapters.aws.approvals import DynamoApprovals
    from stepline.ports.approvals import Approval

    client: Any = boto3.client("dynamodb", region_name="us-east-1")
    create_table(client, "ApprovalsTable", "approvals")
    approvals = DynamoApprovals(client, "approvals")
    pending = Approval(
        id="a1",
        pipeline="p",
        execution_id="arn:e",
        execution_name="e",
        stage="Release",
        action="Approve",
        requested_at=1.0,
        expires_at=2e9,
    )
    approvals.put(pending, "token-1")
    assert approvals.unanswered() == []
    # When a decision is recorded, Then it is unanswered, with its token
    decided = pending.model_copy(
        update={"status": "Approved", "decided_by": "Ada", "decided_at": 5.0, "answered": False}
    )
    assert approvals.settle(decided) is True
    assert approvals.unanswered() == [(decided, "token-1")]
    # When its answer is marked, Then it is answered for good
    approvals.mark_answered(decided.model_copy(update={"answered": True}))
    assert approvals.unanswered() == []
    found = approvals.get("a1")
    assert found is not None
    assert found[0].answered is True


def test_a_missing_artifact_is_missing_and_a_refused_one_says_what_to_grant(aws: None, tmp_path: Path) -> None:
    """S3 answers HeadObject on a missing key 404 to a reader with s3:ListBucket and 403 to one
    without; moto answers 404, and botocore's Stubber gives S3's documented 403 (no body)."""
    from botocore.stub import Stubber

    from stepline.ports.artifacts import ArtifactUnreadable

    s3: Any = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="stepline-artifacts")
    store = S3ArtifactStore(s3, "stepline-artifacts")
    with pytest.raises(ArtifactNotFound, match=r"no artifact at s3://stepline-artifacts/p/e/Gone\.zip"):
        store.get({"type": "S3", "location": "s3://stepline-artifacts/p/e/Gone.zip"}, tmp_path / "g.zip")
    refused: Any = boto3.client("s3", region_name="us-east-1")
    with Stubber(refused) as stub:
        stub.add_client_error(
            "head_object", service_error_code="403", service_message="Forbidden", http_status_code=403
        )
        with pytest.raises(ArtifactUnreadable, match=r"S3 denied access .*s3:ListBucket"):
            S3ArtifactStore(refused, "stepline-artifacts").get(
                {"type": "S3", "location": "s3://stepline-artifacts/p/e/Out.zip"}, tmp_path / "o.zip"
            )
