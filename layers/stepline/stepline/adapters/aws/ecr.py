"""ECR as the Images port (Source/AWS/ECR): a tag read as the digest it points at."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from stepline.actions.errors import SourceAccessError, SourceNotFoundError, TransientActionError
from stepline.adapters.aws import error_code


class EcrImages:
    def __init__(self, client: Any) -> None:
        self.client = client

    def describe(self, repository: str, tag: str, digest: str | None = None) -> dict[str, object] | None:
        image_id = {"imageDigest": digest} if digest else {"imageTag": tag}
        try:
            found = self.client.describe_images(repositoryName=repository, imageIds=[image_id])
        except ClientError as error:
            code = error_code(error)
            if code == "ImageNotFoundException":
                return None
            if code == "RepositoryNotFoundException":
                raise SourceNotFoundError(f"ECR repository {repository!r} does not exist") from None
            if code in {"ThrottlingException", "ServerException"}:
                raise TransientActionError(f"ECR answered {code}; retrying") from None
            raise SourceAccessError(f"ECR refused reading {repository}:{tag}: {code}: {error}") from None
        details = found.get("imageDetails", [])
        if not details:
            return None
        image: dict[str, object] = dict(details[0])
        host = f"{image['registryId']}.dkr.ecr.{self.client.meta.region_name}.amazonaws.com"
        image["imageUri"] = f"{host}/{repository}@{image['imageDigest']}"
        return image
