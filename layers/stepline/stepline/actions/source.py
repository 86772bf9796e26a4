"""Source actions: fetch exactly the commit (or object) to build, store it as the output artifact,
and return the output variables CodePipeline documents for the provider."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stepline.actions.request import ActionRequest, action_result
from stepline.adapters.local.git import GitRepository, Revision
from stepline.errors import ConfigurationError
from stepline.ports import ArtifactStore


class SourceProvider(Protocol):
    def fetch(self, request: ActionRequest, configuration: Mapping[str, str], archive: Path) -> dict[str, str]:
        """Write the source as a zip to ``archive``; return the action's output variables."""
        ...


def run_source_action(request: ActionRequest, provider: SourceProvider, store: ArtifactStore) -> dict[str, Any]:
    outputs = request.action.output_artifacts
    if len(outputs) != 1:
        raise ConfigurationError(
            f"{request.stage}.{request.action.name}: a source action has exactly one output artifact"
        )
    configuration = request.configuration()
    with tempfile.TemporaryDirectory(prefix="stepline-source-") as scratch:
        archive = Path(scratch) / "source.zip"
        variables = provider.fetch(request, configuration, archive)
        reference = store.put(request.pipeline, request.execution.name, outputs[0].name, archive)
    return action_result({outputs[0].name: reference}, variables)


def git_variables(
    provider: str, revision: Revision, configuration: Mapping[str, str], repository: str
) -> dict[str, str]:
    """The output variables of each git-based provider, as CodePipeline documents them."""
    common = {
        "CommitId": revision.commit_id,
        "CommitMessage": revision.message,
        "BranchName": revision.branch,
        "AuthorDate": revision.author_date,
    }
    if provider == "CodeStarSourceConnection":
        return {
            **common,
            "ConnectionArn": configuration.get("ConnectionArn", ""),
            "FullRepositoryName": configuration.get("FullRepositoryId", repository),
        }
    if provider == "GitHub":
        owner_repo = f"{configuration.get('Owner', '')}/{configuration.get('Repo', '')}"
        return {
            **common,
            "CommitterDate": revision.committer_date,
            "RepositoryName": configuration.get("Repo", repository),
            "CommitUrl": f"https://github.com/{owner_repo}/commit/{revision.commit_id}",
        }
    return {**common, "CommitterDate": revision.committer_date, "RepositoryName": repository}


@dataclass
class LocalGitSources:
    """Git-based sources on one machine.

    ``Source/Custom/Git`` names its repository itself (``RepositoryUrl``: a path or URL; a
    relative path is taken from ``base``). CodeCommit, connection and GitHub sources name a
    repository on a service, so they are mapped to local repositories: ``mapping`` holds
    RepositoryName, FullRepositoryId or Owner/Repo → path or URL (``--source NAME=PATH``).
    """

    base: Path
    cache: Path
    mapping: Mapping[str, str] = field(default_factory=dict)

    def repository(self, provider: str, configuration: Mapping[str, str]) -> tuple[GitRepository, str, str | None]:
        """The repository, its name for the output variables, and the branch to build by default."""
        if provider == "Git":
            written = configuration["RepositoryUrl"]
            repository = GitRepository(self._located(written), self.cache, f"RepositoryUrl {written}")
            return repository, repository.name, configuration.get("BranchName")
        key, branch_key = {
            "CodeCommit": ("RepositoryName", "BranchName"),
            "CodeStarSourceConnection": ("FullRepositoryId", "BranchName"),
            "GitHub": ("Repo", "Branch"),
        }[provider]
        name = configuration[key]
        lookup = f"{configuration['Owner']}/{name}" if provider == "GitHub" else name
        mapped = self.mapping.get(lookup) or self.mapping.get(name)
        if mapped is None:
            raise ConfigurationError(
                f"no local repository is mapped for {provider} repository {lookup!r}: "
                f"pass --source {lookup}=PATH (or add it to the sources file)"
            )
        location = self._located(mapped)
        repository = GitRepository(location, self.cache, f"{provider} repository {lookup!r} ({location})")
        return repository, name, configuration[branch_key]

    def _located(self, location: str) -> str:
        if "://" in location or location.startswith("git@"):
            return location
        return str((self.base / location).resolve())

    def fetch(self, request: ActionRequest, configuration: Mapping[str, str], archive: Path) -> dict[str, str]:
        provider = request.action.action_type_id.provider
        repository, name, branch = self.repository(provider, configuration)
        hint = request.revision()
        commit = hint["commitId"] if isinstance(hint.get("commitId"), str) else None
        if hint.get("referenceType") == "branch" and isinstance(hint.get("referenceName"), str):
            branch = hint["referenceName"]
        revision = repository.resolve(branch, commit)
        repository.archive(revision.commit_id, archive)
        return git_variables(provider, revision, configuration, name)
