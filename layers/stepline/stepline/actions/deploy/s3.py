"""Deploy/AWS/S3, as CodePipeline's S3 deploy action: the input artifact written to a bucket.

``Extract`` true: every file of the artifact, under ``ObjectKey`` as a folder when it is given
(a static site: each file gets the Content-Type its extension says). ``Extract`` false: the
artifact's zip as the one object ``ObjectKey``. ``CannedACL``, ``CacheControl`` and
``KMSEncryptionKeyARN`` (SSE-KMS with that key) apply to every object written. Writing the same
objects again gives the same result, so a retried attempt is harmless.
"""

from __future__ import annotations

import mimetypes
import tempfile
from pathlib import Path

from stepline.actions.artifacts import fetched_input
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest, action_result
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.aws_deploys import Buckets


def object_settings(configuration: dict[str, str]) -> dict[str, str]:
    """PutObject's extra arguments every object of the action gets."""
    extra: dict[str, str] = {}
    if configuration.get("CannedACL"):
        extra["ACL"] = configuration["CannedACL"]
    if configuration.get("CacheControl"):
        extra["CacheControl"] = configuration["CacheControl"]
    if configuration.get("KMSEncryptionKeyARN"):
        extra["ServerSideEncryption"] = "aws:kms"
        extra["SSEKMSKeyId"] = configuration["KMSEncryptionKeyARN"]
    return extra


def object_key(prefix: str, relative: str) -> str:
    return f"{prefix.strip('/')}/{relative}" if prefix.strip("/") else relative


def deploy_to_bucket(request: ActionRequest, store: ArtifactStore, buckets: Buckets) -> dict[str, object]:
    label = request.label
    configuration = request.configuration()
    bucket, extract = configuration["BucketName"], configuration["Extract"].lower() == "true"
    key = configuration.get("ObjectKey", "")
    extra = object_settings(configuration)
    if not extract:
        if not key:
            raise ConfigurationError(f"{label}: ObjectKey is required when Extract is false")
        _put_archive(request, store, buckets, bucket, key, extra, label)
        return action_result({}, {})
    with fetched_input(request, store, label) as (artifact, folder):
        files = sorted(path for path in folder.rglob("*") if path.is_file())
        if not files:
            raise ArtifactError(f"{label}: input artifact {artifact!r} is empty: there is nothing to deploy")
        for path in files:
            relative = path.relative_to(folder).as_posix()
            content_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
            buckets.put_file(bucket, object_key(key, relative), path, {**extra, "ContentType": content_type})
    return action_result({}, {})


def _put_archive(
    request: ActionRequest,
    store: ArtifactStore,
    buckets: Buckets,
    bucket: str,
    key: str,
    extra: dict[str, str],
    label: str,
) -> None:
    name = request.action.input_artifacts[0].name
    reference = request.artifacts.get(name)
    if reference is None:
        raise ArtifactError(f"{label}: input artifact {name!r} was not produced in this execution")
    with tempfile.TemporaryDirectory(prefix="stepline-s3-") as scratch:
        archive = Path(scratch) / f"{name}.zip"
        store.get(reference, archive)
        buckets.put_file(bucket, key, archive, {**extra, "ContentType": "application/zip"})
