"""Pushes: GitHub's push webhook payload, as a typed model (fields from GitHub's documented push
event), and where verified pushes go."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from stepline.triggers.changes import RepositoryChange


class PushedCommit(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    message: str = ""
    added: list[str] = Field(default_factory=list)
    modified: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)

    def paths(self) -> set[str]:
        return {*self.added, *self.modified, *self.removed}


class PushedRepository(BaseModel):
    model_config = ConfigDict(frozen=True)

    full_name: str
    clone_url: str = ""


class GitHubPush(BaseModel):
    """A push: which repository, which ref moved from where to where, and what it touched."""

    model_config = ConfigDict(frozen=True)

    delivery: str = ""
    ref: str
    before: str
    after: str
    deleted: bool = False
    repository: PushedRepository
    commits: list[PushedCommit] = Field(default_factory=list)

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None

    def paths(self) -> set[str]:
        return {path for commit in self.commits for path in commit.paths()}


class Pushes(Protocol):
    """Where verified pushes and pull requests go: the trigger logic decides what they start."""

    def received(self, change: RepositoryChange) -> list[str]:
        """The executions started (empty when no pipeline watches that branch)."""
        ...
