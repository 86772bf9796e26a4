"""S3 as the Buckets port (Deploy/AWS/S3): objects written to a user's bucket."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from stepline.actions.errors import TransientActionError
from stepline.adapters.aws import error_code
from stepline.errors import ConfigurationError

_TRANSIENT = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"}


class S3Buckets:
    def __init__(self, client: Any) -> None:
        self.client = client

    def put_file(self, bucket: str, key: str, file: Path, extra: Mapping[str, str]) -> None:
        try:
            with file.open("rb") as body:  # streamed; a single PUT takes up to 5 GB, CodePipeline's limit
                self.client.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        except ClientError as error:
            raise _bucket_error(error_code(error), str(error), bucket, key) from None


def _bucket_error(code: str, message: str, bucket: str, key: str) -> Exception:
    if code in _TRANSIENT:
        return TransientActionError(f"S3 answered {code} writing s3://{bucket}/{key}; retrying")
    if code == "NoSuchBucket":
        return ConfigurationError(f"bucket {bucket!r} does not exist")
    if code == "AccessDenied":
        return ConfigurationError(
            f"S3 refused writing s3://{bucket}/{key} (AccessDenied): the bucket must be in the stack's "
            "DeployBucketArns, and a KMS key or ACL must be allowed to the deploy function"
        )
    return ConfigurationError(f"S3 refused writing s3://{bucket}/{key}: {message}")
