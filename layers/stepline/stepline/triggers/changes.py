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

Provider = Literal["CodeCommit", "GitHub", "GitLab", "Bitbucket", "Git"]
ReferenceType = Literal["branch", "tag"]
PullRequestEvent = Literal["OPEN", "UPDATED", "CLOSED"]


class PullRequest(BaseModel):
    """What a pull (merge) request event adds to a change: which request, what happened to it,
    and its destination. The change itself names the source branch and its head commit, which
    is what the execution builds (CodePipeline: "the commit from the source branch")."""

    model_config = ConfigDict(frozen=True)

    number: str = Field(min_length=1)  # GitHub's number, GitLab's iid, Bitbucket's id, CodeCommit's id
    event: PullRequestEvent
    destination_branch: str
    destination_commit: str = ""
    title: str = ""
    url: str = ""
    merged: bool = False

    def as_json(self, change: RepositoryChange) -> dict[str, object]:
        """The trigger's record of the request, in the execution's input and output."""
        return {
            "number": self.number,
            "event": self.event,
            "sourceBranch": change.reference_name,
            "destinationBranch": self.destination_branch,
            "commitId": change.commit_id,
            "destinationCommitId": self.destination_commit,
            "title": self.title,
            "url": self.url,
            "merged": self.merged,
        }


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
    pull_request: PullRequest | None = None  # set when a pull request event reported the change

    def identity(self) -> str:
        """What makes two reports one change, so that they start one execution.

        A GitHub or git hook push is the push itself: the reference and the commits it moved
        between. GitHub signs the body but not ``X-GitHub-Delivery``, so a captured push re-sent
        under a fresh delivery id must not start again (it would roll back to its old commit);
        the price is that moving a branch back and forth (A→B, B→A, A→B) starts nothing the
        third time. A CodeCommit event is its EventBridge id: only AWS emits ``aws.codecommit``
        events (the source is reserved) and a redelivery keeps the id, so there is nothing to
        replay, and each real move starts, as on CodePipeline. GitLab and Bitbucket pushes are
        named as GitHub's.

        A pull request event is the request, whether it is open or closed, and its head commit,
        whoever reported it: a replayed delivery starts nothing new, nor does an "updated" that
        only edited the title (Bitbucket reports those too) or a request reopened at the commit
        it was opened at; closing it is one more execution.
        """
        pull = self.pull_request
        if pull is not None:
            state = "closed" if pull.event == "CLOSED" else "open"
            return f"pr/{pull.number}\0{state}\0{self.commit_id}"
        if self.provider == "CodeCommit":
            return self.event_id
        return f"{self.reference_type}/{self.reference_name}\0{self.old_commit_id}\0{self.commit_id}"

    def execution_name(self) -> str:
        """Step Functions' execution name for this change: the same change always gets the same
        name, so a redelivered event, a retried hook or a replayed webhook starts nothing new."""
        digest = hashlib.sha256(f"{self.provider}\0{self.repository}\0{self.identity()}".encode()).hexdigest()
        if self.pull_request is not None:
            pull = self.pull_request
            label = f"pr-{pull.number[:12]}-{pull.event.lower()}"
            return f"{re.sub(r'[^A-Za-z0-9_-]', '-', label)}-{self.commit_id[:8]}-{digest[:20]}"
        reference = re.sub(r"[^A-Za-z0-9_-]", "-", self.reference_name)[:40]
        return f"{reference}-{self.commit_id[:8] or 'deleted'}-{digest[:20]}"

    def revision(self) -> dict[str, object]:
        """What the source action fetches: the shape ``ActionRequest.revision`` reads."""
        revision: dict[str, object] = {
            "provider": self.provider,
            "repositoryName": self.repository,
            "referenceType": self.reference_type,
            "referenceName": self.reference_name,
            "commitId": self.commit_id,
            "oldCommitId": self.old_commit_id,
        }
        if self.pull_request is not None:
            revision["pullRequest"] = self.pull_request.as_json(self)
        return revision


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


def from_git_ref(
    provider: Provider,
    repository: str,
    ref: str,
    before: str,
    after: str,
    event_id: str,
    paths: frozenset[str] | None = None,
) -> RepositoryChange | None:
    """The change a push of one ref reports (git's own terms: the ref, and the commits it moved
    between, all zeros for none); None for a ref that is neither a branch nor a tag."""
    reference = _reference(ref)
    if reference is None:
        return None
    return RepositoryChange(
        provider=provider,
        repository=repository,
        reference_type=reference[0],
        reference_name=reference[1],
        commit_id=_commit(after),
        old_commit_id=_commit(before),
        deleted=not _commit(after),
        event_id=event_id,
        paths=paths,
    )


def from_git_hook(repository: str, ref: str, before: str, after: str) -> RepositoryChange | None:
    """The change a git hook on this machine reports (stepline.local.hooks)."""
    # One push moves a ref once from one commit to another: that names it.
    return from_git_ref("Git", repository, ref, before, after, f"{ref}:{before}:{after}")
