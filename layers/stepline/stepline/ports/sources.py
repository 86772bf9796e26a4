"""Source providers: each fetches one source action's revision as a zip and names it in the
output variables CodePipeline documents for the provider."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Revision:
    commit_id: str
    branch: str
    message: str
    author_date: str
    committer_date: str


@dataclass(frozen=True)
class SourceRequest:
    """What a source provider is asked for: the action's provider and resolved configuration, and
    what the trigger says about the revision (``commitId``, ``referenceType``/``referenceName``,
    ``versionId``), if anything."""

    provider: str
    configuration: Mapping[str, str]
    revision: Mapping[str, Any] = field(default_factory=dict)
    pipeline: str = ""  # whose source: on one machine its registered local repositories are looked up

    def branch(self, default: str | None) -> str | None:
        """The branch the trigger names, else ``default``."""
        if self.revision.get("referenceType") == "branch" and isinstance(self.revision.get("referenceName"), str):
            return str(self.revision["referenceName"])
        return default

    def commit(self) -> str | None:
        """The commit the trigger names, if any."""
        commit = self.revision.get("commitId")
        return commit if isinstance(commit, str) else None


class SourceProvider(Protocol):
    def fetch(self, request: SourceRequest, archive: Path) -> dict[str, str]:
        """Write the source as a zip to ``archive``; return the action's output variables."""
        ...


class ChangedPaths(Protocol):
    """The files a push changed, asked of the repository when the event does not list them."""

    def between(self, repository: str, old_commit: str, new_commit: str) -> set[str]:
        """Paths added, modified or removed from ``old_commit`` to ``new_commit`` (every file in
        ``new_commit`` when ``old_commit`` is empty: a new branch or tag)."""
        ...


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


class SourceHeads(Protocol):
    """What a polled source holds now (PollForSourceChanges): a branch's head commit, or an S3
    object's latest version id."""

    def head(self, provider: str, configuration: Mapping[str, str]) -> str:
        """LookupError (or a source error) saying why when it cannot be read."""
        ...
