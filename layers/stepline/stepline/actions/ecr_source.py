"""Source/AWS/ECR: an image tag read as the digest it points at, CodePipeline's way.

The output artifact holds ``imageDetail.json`` (ImageURI pinned by digest, ImageDigest,
ImageTags, RegistryId, RepositoryName, ImageSizeInBytes, ImagePushedAt), which CodeDeployToECS
and builds read; the output variables are CodePipeline's: RegistryId, RepositoryName,
ImageTag, ImageDigest, ImageURI. On one machine an ECR repository may be mapped (``--source
REPOSITORY=FILE``) to an image reference file, a JSON object with at least ``ImageURI``
(``imageDetail.json``'s shape; the digest is read from an ``@sha256:`` URI when not given), so
a pipeline runs without AWS; unmapped, the repository is read from ECR.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from stepline.actions.errors import SourceNotFoundError
from stepline.errors import ConfigurationError
from stepline.ports.aws_deploys import Images
from stepline.ports.sources import SourceRequest


@dataclass
class EcrImageSource:
    images: Images
    references: Mapping[str, str] = field(default_factory=dict)  # repository → image reference file
    base: Path = Path()

    def fetch(self, request: SourceRequest, archive: Path) -> dict[str, str]:
        configuration = request.configuration
        repository, tag = configuration["RepositoryName"], configuration.get("ImageTag") or "latest"
        label = "ECR source"
        if repository in self.references:
            detail = _reference_file(self.base / self.references[repository], repository, tag, label)
        else:
            if self.images is None:
                raise ConfigurationError(
                    f"{label}: no image reference file is mapped for ECR repository {repository!r}"
                )
            pushed = request.revision.get("imageDigest")  # a push started the run: that image
            digest = pushed if isinstance(pushed, str) and pushed else None
            image = self.images.describe(repository, tag, digest)
            if image is None:
                which = f"image {digest}" if digest else f"image tagged {tag!r}"
                raise SourceNotFoundError(f"{label}: ECR repository {repository!r} has no {which}")
            detail = _detail(image)
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            zipped.writestr("imageDetail.json", json.dumps(detail, indent=2))
        return {
            "RegistryId": str(detail["RegistryId"]),
            "RepositoryName": repository,
            "ImageTag": tag,
            "ImageDigest": str(detail["ImageDigest"]),
            "ImageURI": str(detail["ImageURI"]),
        }


def _detail(image: Mapping[str, Any]) -> dict[str, object]:
    pushed = image.get("imagePushedAt")
    return {
        "ImageSizeInBytes": str(image.get("imageSizeInBytes", "")),
        "ImageDigest": image["imageDigest"],
        "Version": "1.0",
        "ImagePushedAt": pushed.isoformat() if isinstance(pushed, datetime) else str(pushed or ""),
        "RegistryId": image["registryId"],
        "RepositoryName": image["repositoryName"],
        "ImageURI": image["imageUri"],
        "ImageTags": list(image.get("imageTags") or []),
    }


def _reference_file(path: Path, repository: str, tag: str, label: str) -> dict[str, object]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigurationError(f"{label}: image reference file {path} for {repository!r}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{label}: image reference file {path} is not valid JSON ({error.msg})") from None
    uri = loaded.get("ImageURI") if isinstance(loaded, dict) else None
    if not isinstance(uri, str) or not uri:
        raise ConfigurationError(f'{label}: image reference file {path} must be a JSON object with "ImageURI"')
    digest = str(loaded.get("ImageDigest") or (uri.split("@", 1)[1] if "@" in uri else ""))
    host = uri.split("/", 1)[0]
    return {
        **loaded,
        "ImageDigest": digest,
        "RegistryId": str(loaded.get("RegistryId") or host.split(".", 1)[0]),
        "RepositoryName": repository,
        "ImageTags": loaded.get("ImageTags") or [tag],
    }
