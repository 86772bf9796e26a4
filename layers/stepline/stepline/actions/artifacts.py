"""Fetching an action's input artifacts, with the errors named the same way by every action."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest
from stepline.archives import ArchiveError
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import ArtifactNotFound, ArtifactStore, get_into


def fetch_into(request: ActionRequest, store: ArtifactStore, name: str, folder: Path, label: str) -> None:
    """Unpack the input artifact ``name`` into ``folder``, or say which artifact and why not."""
    reference = request.artifacts.get(name)
    if reference is None:
        raise ArtifactError(f"{label}: input artifact {name!r} was not produced in this execution")
    try:
        get_into(store, reference, folder)
    except (ArtifactNotFound, ArchiveError) as error:
        raise ArtifactError(f"{label}: input artifact {name!r}: {error}") from None


@contextmanager
def fetched_input(request: ActionRequest, store: ArtifactStore, label: str) -> Iterator[tuple[str, Path]]:
    """The action's first input artifact, unpacked into a folder that is removed afterwards."""
    name = request.action.input_artifacts[0].name
    with tempfile.TemporaryDirectory(prefix="stepline-input-") as scratch:
        folder = Path(scratch)
        fetch_into(request, store, name, folder, label)
        yield name, folder


class InputFiles:
    """Files of the action's input artifacts, each artifact unpacked once into one scratch folder,
    with the errors named alike by every action that reads configuration-named files."""

    def __init__(self, request: ActionRequest, store: ArtifactStore, scratch: Path, label: str) -> None:
        self.request, self.store, self.scratch, self.label = request, store, scratch, label
        self.inputs = [artifact.name for artifact in request.action.input_artifacts]
        self.folders: dict[str, Path] = {}

    def path(self, artifact: str, path: str, key: str) -> Path:
        """The file ``path`` of input artifact ``artifact``, which the configuration's ``key`` names."""
        if artifact not in self.inputs:
            raise ConfigurationError(f"{self.label}: {key} names artifact {artifact!r}, which is not an input")
        if artifact not in self.folders:
            folder = self.scratch / str(len(self.folders))
            folder.mkdir()
            fetch_into(self.request, self.store, artifact, folder, self.label)
            self.folders[artifact] = folder
        folder = self.folders[artifact]
        found = (folder / path).resolve()
        if folder.resolve() not in found.parents:
            raise ArtifactError(f"{self.label}: {key} {path!r} points outside artifact {artifact!r}")
        if not found.is_file():
            present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())[:10]
            listed = ", ".join(present) or "nothing"
            raise ArtifactError(f"{self.label}: {key}: {path} is not in artifact {artifact!r} (it has: {listed})")
        return found

    def text(self, artifact: str, path: str, key: str, limit: int) -> str:
        """The file as UTF-8 text, refused past ``limit`` bytes."""
        found = self.path(artifact, path, key)
        if found.stat().st_size > limit:
            raise ArtifactError(f"{self.label}: {key}: {path} in {artifact!r} is larger than {limit} bytes")
        try:
            return found.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ArtifactError(f"{self.label}: {key}: {path} in {artifact!r} is not UTF-8 text") from None


@contextmanager
def input_files(request: ActionRequest, store: ArtifactStore, label: str) -> Iterator[InputFiles]:
    with tempfile.TemporaryDirectory(prefix="stepline-inputs-") as scratch:
        yield InputFiles(request, store, Path(scratch), label)
