"""Artifacts in the S3 artifact bucket: ``<pipeline>/<execution>/<name>.zip``, encrypted at rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from stepline.adapters.aws import error_code
from stepline.ports.artifacts import ArtifactNotFound, ArtifactRef, ArtifactUnreadable


class S3ArtifactStore:
    def __init__(self, client: Any, bucket: str, kms_key_id: str | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.kms_key_id = kms_key_id

    def put(self, pipeline: str, execution: str, name: str, archive: Path) -> dict[str, str]:
        key = f"{pipeline}/{execution}/{name}.zip"
        extra: dict[str, str] = {"ServerSideEncryption": "aws:kms" if self.kms_key_id else "AES256"}
        if self.kms_key_id:
            extra["SSEKMSKeyId"] = self.kms_key_id
        # upload_file streams from disk, in parts when large.
        self.client.upload_file(str(archive), self.bucket, key, ExtraArgs=extra)
        return {"type": "S3", "location": f"s3://{self.bucket}/{key}"}

    def get(self, reference: ArtifactRef, destination: Path) -> None:
        location = reference.get("location", "")
        if reference.get("type") != "S3" or not location.startswith("s3://"):
            raise ArtifactNotFound(f"not an S3 artifact reference: {dict(reference)}")
        bucket, _, key = location.removeprefix("s3://").partition("/")
        try:
            self.client.download_file(bucket, key, str(destination))
        except ClientError as error:
            code = error_code(error)
            if code in {"404", "NoSuchKey", "NotFound"}:
                raise ArtifactNotFound(f"no artifact at {location}") from None
            if code in {"403", "AccessDenied", "Forbidden"}:
                # S3 answers 403 for a missing key too when the caller may not ListBucket; the
                # stack grants ListBucket wherever artifacts are read, so this is a real refusal.
                raise ArtifactUnreadable(
                    f"{location} cannot be read: S3 denied access (the reader needs s3:GetObject on the "
                    "artifact, and s3:ListBucket on the bucket so a missing artifact reads as missing)"
                ) from None
            raise
