"""Fetching an action's input artifacts, with the errors named the same way by every action."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest
from stepline.archives import ArchiveError
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
