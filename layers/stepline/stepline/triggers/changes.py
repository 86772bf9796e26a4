"""A change to a repository, whatever reported it: a CodeCommit event, a GitHub push, a git hook.

Every trigger path turns its event into one ``RepositoryChange``; matching and starting
(``stepline.triggers.starting``) only ever see that.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from stepline.ports.pushes import GitHubPush

Provider = Literal["CodeCommit", "GitHub", "Git"]
ReferenceType = Literal["branch", "tag"]


class RepositoryChange(BaseModel):
    """A reference that moved: which repository, which branch or tag, from which commit to which.

    ``paths`` holds the changed files when the event carries them (GitHub lists them per
    commit); ``None`` means the trigger must ask the repository, if a filter needs them.
    """

    model_config = ConfigDict(frozen=True)

    provider: Provider
    repository: str  # CodeCommit repository name, GitHub "owner/repo", or a local path
    reference_type: ReferenceType
    reference_name: str
    commit_id: str = ""
    old_commit_id: str = ""
    deleted: bool = False
    event_id: str = Field(min_length=1)  # what reported it (delivery or event id), for the logs
    paths: frozenset[str] | None = None

    def identity(self) -> str:
        """What makes two reports one change, so that they start one execution.

        A GitHub or git hook push is the push itself: the reference and the commits it moved
        between. GitHub signs the body but not ``X-GitHub-Delivery``, so a captured push re-sent
        under a fresh delivery id must not start again (it would roll back to its old commit);
        the price is that moving a branch back and forth (A→B, B→A, A→B) starts nothing the
        third time. A CodeCommit event is its EventBridge id: only AWS emits ``aws.codecommit``
        events (the source is reserved) and a redelivery keeps the id, so there is nothing to
        replay, and each real move starts, as on CodePipeline.
        """
        if self.provider == "CodeCommit":
            return self.event_id
        return f"{self.reference_type}/{self.reference_name}\0{self.old_commit_id}\0{self.commit_id}"

    def execution_name(self) -> str:
        """Step Functions' execution name for this change: the same change always gets the same
        name, so a redelivered event, a retried hook or a replayed webhook starts nothing new."""
        digest = hashlib.sha256(f"{self.provider}\0{self.repository}\0{self.identity()}".encode()).hexdigest()
        reference = re.sub(r"[^A-Za-z0-9_-]", "-", self.reference_name)[:40]
        return f"{reference}-{self.commit_id[:8] or 'deleted'}-{digest[:20]}"

    def revision(self) -> dict[str, str]:
        """What the source action fetches: the shape ``ActionRequest.revision`` reads."""
        return {
            "provider": self.provider,
            "repositoryName": self.repository,
            "referenceType": self.reference_type,
            "referenceName": self.reference_name,
            "commitId": self.commit_id,
            "oldCommitId": self.old_commit_id,
        }


class CodeCommitReferenceDetail(BaseModel):
    """``detail`` of "CodeCommit Repository State Change" for reference events (CodeCommit User
    Guide, "Monitoring CodeCommit events": referenceCreated / referenceUpdated / referenceDeleted)."""

    model_config = ConfigDict(populate_by_name=True)

    event: str
    repository_name: str = Field(alias="repositoryName")
    reference_type: str = Field("", alias="referenceType")
    reference_name: str = Field("", alias="referenceName")
    reference_full_name: str = Field("", alias="referenceFullName")
    commit_id: str = Field("", alias="commitId")
    old_commit_id: str = Field("", alias="oldCommitId")


class CodeCommitStateChange(EventBridgeModel):
    detail: CodeCommitReferenceDetail  # narrows Powertools' raw dict to the reference event


REFERENCE_EVENTS = frozenset({"referenceCreated", "referenceUpdated", "referenceDeleted"})


def from_codecommit(event: CodeCommitStateChange) -> RepositoryChange | None:
    """The change a CodeCommit event reports; None for events that move no branch or tag."""
    detail = event.detail
    if detail.event not in REFERENCE_EVENTS or detail.reference_type not in {"branch", "tag"}:
        return None
    reference_type: ReferenceType = "branch" if detail.reference_type == "branch" else "tag"
    return RepositoryChange(
        provider="CodeCommit",
        repository=detail.repository_name,
        reference_type=reference_type,
        reference_name=detail.reference_name,
        commit_id=detail.commit_id,
        old_commit_id=detail.old_commit_id,
        deleted=detail.event == "referenceDeleted",
        event_id=event.id,
    )


def _reference(ref: str) -> tuple[ReferenceType, str] | None:
    """refs/heads/NAME or refs/tags/NAME as (kind, NAME); None for any other ref."""
    if ref.startswith("refs/heads/"):
        return "branch", ref.removeprefix("refs/heads/")
    if ref.startswith("refs/tags/"):
        return "tag", ref.removeprefix("refs/tags/")
    return None


def _commit(sha: str) -> str:
    """A commit id, or '' for git's all-zero "no commit" (a ref created or deleted)."""
    return "" if set(sha) <= {"0"} else sha


def from_github(push: GitHubPush) -> RepositoryChange | None:
    """The change a GitHub push reports; None for a ref that is neither a branch nor a tag."""
    reference = _reference(push.ref)
    if reference is None:
        return None
    return RepositoryChange(
        provider="GitHub",
        repository=push.repository.full_name,
        reference_type=reference[0],
        reference_name=reference[1],
        commit_id=_commit(push.after),
        old_commit_id=_commit(push.before),
        deleted=push.deleted,
        # A push is one delivery; without a delivery id, the ref and the commits name it.
        event_id=push.delivery or f"{push.ref}:{push.before}:{push.after}",
        paths=frozenset(push.paths()),
    )


def from_git_hook(repository: str, ref: str, before: str, after: str) -> RepositoryChange | None:
    """The change a git hook on this machine reports (stepline.local.hooks)."""
    reference = _reference(ref)
    if reference is None:
        return None
    return RepositoryChange(
        provider="Git",
        repository=repository,
        reference_type=reference[0],
        reference_name=reference[1],
        commit_id=_commit(after),
        old_commit_id=_commit(before),
        deleted=not _commit(after),
        # One push moves a ref once from one commit to another: that names it.
        event_id=f"{ref}:{before}:{after}",
    )
