"""Artifacts: what a stage hands the next, by reference.

An artifact reference is what travels in the execution state — never the artifact itself:
``{"type": "S3" | "Local", "location": "s3://bucket/key" | "file:///path/to/name.zip"}``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from stepline.archives import DEFAULT_LIMITS, Limits, pack_directory, unpack

ArtifactRef = Mapping[str, str]


class ArtifactNotFound(LookupError):
    """The reference points at nothing the store holds."""


class ArtifactUnreadable(LookupError):
    """The store refused to hand the artifact over (access denied): a configuration problem."""


class ArtifactStore(Protocol):
    def put(self, pipeline: str, execution: str, name: str, archive: Path) -> dict[str, str]:
        """Store a zip as the artifact ``name`` of an execution; return its reference."""
        ...

    def get(self, reference: ArtifactRef, destination: Path) -> None:
        """Write the referenced zip to ``destination`` (streamed, never held in memory)."""
        ...


def put_directory(
    store: ArtifactStore, pipeline: str, execution: str, name: str, directory: Path, files: Iterable[Path] | None = None
) -> dict[str, str]:
    """Zip a directory (or the chosen files in it) and store it as an artifact."""
    with tempfile.TemporaryDirectory(prefix="stepline-pack-") as scratch:
        archive = Path(scratch) / f"{name}.zip"
        pack_directory(directory, archive, files)
        return store.put(pipeline, execution, name, archive)


def get_into(store: ArtifactStore, reference: ArtifactRef, target: Path, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """Fetch an artifact and unpack it safely into ``target``."""
    with tempfile.TemporaryDirectory(prefix="stepline-fetch-") as scratch:
        archive = Path(scratch) / "artifact.zip"
        store.get(reference, archive)
        return unpack(archive, target, limits)
