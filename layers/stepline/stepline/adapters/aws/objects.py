"""S3 objects for the engine's distributed Maps (ItemReader, ResultWriter), through boto3's S3 client."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stepline.adapters.aws import error_code
from stepline.ports.objects import ObjectStoreError, StoredObject


class S3ObjectStore:
    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, bucket: str, key: str) -> bytes:
        try:
            return bytes(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except (ClientError, BotoCoreError) as error:
            raise ObjectStoreError(f"s3://{bucket}/{key} cannot be read: {_reason(error)}") from None

    def list(self, bucket: str, prefix: str) -> list[StoredObject]:
        found = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                found += [
                    StoredObject(
                        item["Key"],
                        item["Size"],
                        item["ETag"],
                        item["LastModified"].timestamp(),
                        item.get("StorageClass", "STANDARD"),
                    )
                    for item in page.get("Contents", [])
                ]
        except (ClientError, BotoCoreError) as error:
            raise ObjectStoreError(f"s3://{bucket}/{prefix} cannot be listed: {_reason(error)}") from None
        return found

    def put(self, bucket: str, key: str, body: bytes) -> None:
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=body)
        except (ClientError, BotoCoreError) as error:
            raise ObjectStoreError(f"s3://{bucket}/{key} cannot be written: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        return f"{error_code(error)}: {error.response.get('Error', {}).get('Message', '')}".rstrip(": ")
    return str(error)
