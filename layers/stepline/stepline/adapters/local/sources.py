"""Git-based source actions on one machine: a repository by path or URL, or a service's repository
mapped to a local one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stepline.adapters.local.git import GitRepository
from stepline.errors import ConfigurationError
from stepline.ports.sources import SourceRequest, git_variables


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
    # A pipeline's own mapping, given to `stepline apply --source` and kept with it; it wins.
    registered: Callable[[str], Mapping[str, str]] = lambda pipeline: {}

    def repository(
        self, provider: str, configuration: Mapping[str, str], pipeline: str = ""
    ) -> tuple[GitRepository, str, str | None]:
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
        mapping = {**self.mapping, **self.registered(pipeline)} if pipeline else self.mapping
        mapped = mapping.get(lookup) or mapping.get(name)
        if mapped is None:
            raise ConfigurationError(
                f"no local repository is mapped for {provider} repository {lookup!r}: "
                f"pass --source {lookup}=PATH to stepline apply or run (or add it to the sources file)"
            )
        location = self._located(mapped)
        repository = GitRepository(location, self.cache, f"{provider} repository {lookup!r} ({location})")
        return repository, name, configuration[branch_key]

    def _located(self, location: str) -> str:
        if "://" in location or location.startswith("git@"):
            return location
        return str((self.base / location).resolve())

    def fetch(self, request: SourceRequest, archive: Path) -> dict[str, str]:
        repository, name, branch = self.repository(request.provider, request.configuration, request.pipeline)
        revision = repository.resolve(request.branch(branch), request.commit())
        repository.archive(revision.commit_id, archive)
        return git_variables(request.provider, revision, request.configuration, name)
