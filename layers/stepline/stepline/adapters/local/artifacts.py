"""Artifacts as zip files in a directory: ``<root>/<pipeline>/<execution>/<name>.zip``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

from stepline.adapters.local import private_copy, private_folder
from stepline.ports import ArtifactNotFound, ArtifactRef


class LocalArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def put(self, pipeline: str, execution: str, name: str, archive: Path) -> dict[str, str]:
        destination = self.root / _segment(pipeline) / _segment(execution) / f"{_segment(name)}.zip"
        private_folder(destination.parent)
        partial = destination.with_suffix(".zip.partial")
        private_copy(archive, partial)
        os.replace(partial, destination)  # readers never see half an artifact
        return {"type": "Local", "location": destination.as_uri()}

    def get(self, reference: ArtifactRef, destination: Path) -> None:
        location = urlparse(reference.get("location", ""))
        if reference.get("type") != "Local" or location.scheme != "file":
            raise ArtifactNotFound(f"not a local artifact reference: {dict(reference)}")
        path = Path(unquote(location.path)).resolve()
        if self.root not in path.parents:
            raise ArtifactNotFound(f"{path} is outside the artifact store {self.root}")
        if not path.is_file():
            raise ArtifactNotFound(f"no artifact at {path}")
        shutil.copyfile(path, destination)


def _segment(text: str) -> str:
    """One path segment: names come from pipelines and executions, never from the filesystem."""
    cleaned = text.replace("/", "_").replace("\\", "_")
    if cleaned in {"", ".", ".."}:
        raise ValueError(f"{text!r} cannot name a folder of the artifact store")
    return cleaned
