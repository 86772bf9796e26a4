"""Deploy/AWS/S3 (Task: lambda:invoke): write the input artifact to the bucket, extracted or as one object."""

from typing import Any

from stepline.actions.deploy.s3 import deploy_to_bucket
from stepline.actions.request import ActionRequest
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.wiring import artifact_store, buckets


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, object]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    return deploy_to_bucket(request, artifact_store(), buckets())
