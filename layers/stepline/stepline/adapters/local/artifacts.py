"""Artifacts as zip files in a directory: ``<root>/<pipeline>/<execution>/<name>.zip``."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

from stepline.adapters.local import private_copy, private_folder
from stepline.files import segment
from stepline.ports.artifacts import ArtifactNotFound, ArtifactRef


class LocalArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def put(self, pipeline: str, execution: str, name: str, archive: Path) -> dict[str, str]:
        # CodePipeline allows pipelines named ".." and executions may be named freely: each
        # name is one folder, encoded so that it never climbs out of the store.
        destination = self.root / segment(pipeline) / segment(execution) / f"{segment(name)}.zip"
        private_folder(destination.parent)
        partial = destination.with_suffix(".zip.partial")
        try:
            private_copy(archive, partial)
            os.replace(partial, destination)  # readers never see half an artifact
        except OSError:
            with contextlib.suppress(OSError):
                partial.unlink()  # a full disk leaves no half-written copy behind
            raise
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
