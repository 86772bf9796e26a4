"""Pull request events, read into a ``RepositoryChange`` carrying its ``PullRequest``.

CodePipeline's V2 ``pullRequest`` filters know three events — OPEN, UPDATED, CLOSED — and
ignore every other thing that happens to a request (labels, reviews, title edits). Each
vendor's own event names are mapped here; anything else reads as None, "nothing to start".
The change names the *source* branch and its head commit: that is what the execution builds.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from stepline.triggers.changes import PullRequest, PullRequestEvent, RepositoryChange

# GitHub's pull_request webhook actions (docs.github.com, "Webhook events and payloads").
GITHUB_ACTIONS: dict[str, PullRequestEvent] = {
    "opened": "OPEN",
    "reopened": "OPEN",
    "synchronize": "UPDATED",
    "closed": "CLOSED",
}


class GitHubBranch(BaseModel):
    model_config = ConfigDict(frozen=True)

    ref: str
    sha: str


class GitHubPullRequestBody(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    title: str = ""
    html_url: str = ""
    merged: bool | None = None
    head: GitHubBranch
    base: GitHubBranch


class GitHubRepository(BaseModel):
    model_config = ConfigDict(frozen=True)

    full_name: str


class GitHubPullRequestEvent(BaseModel):
    """The ``pull_request`` webhook's payload, as far as a trigger reads it."""

    model_config = ConfigDict(frozen=True)

    delivery: str = ""
    action: str
    pull_request: GitHubPullRequestBody
    repository: GitHubRepository


def from_github_pull_request(event: GitHubPullRequestEvent) -> RepositoryChange | None:
    """The change a GitHub pull request event reports; None for actions CodePipeline ignores."""
    kind = GITHUB_ACTIONS.get(event.action)
    if kind is None:
        return None
    pull = event.pull_request
    return RepositoryChange(
        provider="GitHub",
        repository=event.repository.full_name,
        reference_type="branch",
        reference_name=pull.head.ref,
        commit_id=pull.head.sha,
        old_commit_id=pull.base.sha,
        event_id=event.delivery or f"pr/{pull.number}/{event.action}/{pull.head.sha}",
        pull_request=PullRequest(
            number=str(pull.number),
            event=kind,
            destination_branch=pull.base.ref,
            destination_commit=pull.base.sha,
            title=pull.title,
            url=pull.html_url,
            merged=bool(pull.merged),
        ),
    )


class CodeCommitPullRequestDetail(BaseModel):
    """``detail`` of "CodeCommit Pull Request State Change" (CodeCommit User Guide, "Monitoring
    CodeCommit events": pullRequestCreated, pullRequestSourceBranchUpdated, ...)."""

    model_config = ConfigDict(populate_by_name=True)

    event: str
    pull_request_id: str = Field(alias="pullRequestId", min_length=1)
    pull_request_status: str = Field("", alias="pullRequestStatus")
    repository_names: list[str] = Field(alias="repositoryNames", min_length=1)
    source_reference: str = Field(alias="sourceReference")
    source_commit: str = Field(alias="sourceCommit")
    destination_reference: str = Field(alias="destinationReference")
    destination_commit: str = Field("", alias="destinationCommit")
    is_merged: str = Field("False", alias="isMerged")
    title: str = ""


class CodeCommitPullRequestChange(EventBridgeModel):
    detail: CodeCommitPullRequestDetail


def _codecommit_event(detail: CodeCommitPullRequestDetail) -> PullRequestEvent | None:
    if detail.event == "pullRequestCreated":
        return "OPEN"
    if detail.event == "pullRequestSourceBranchUpdated":
        return "UPDATED"
    if detail.event == "pullRequestStatusChanged":
        # Closed (merged or not), or Open again: reopened.
        return "CLOSED" if detail.pull_request_status == "Closed" else "OPEN"
    return None


def from_codecommit_pull_request(event: CodeCommitPullRequestChange) -> RepositoryChange | None:
    """The change a CodeCommit pull request event reports; None for events CodePipeline ignores."""
    detail = event.detail
    kind = _codecommit_event(detail)
    if kind is None or not detail.source_reference.startswith("refs/heads/"):
        return None
    return RepositoryChange(
        provider="CodeCommit",
        repository=detail.repository_names[0],
        reference_type="branch",
        reference_name=detail.source_reference.removeprefix("refs/heads/"),
        commit_id=detail.source_commit,
        old_commit_id=detail.destination_commit,
        event_id=event.id,
        pull_request=PullRequest(
            number=detail.pull_request_id,
            event=kind,
            destination_branch=detail.destination_reference.removeprefix("refs/heads/"),
            destination_commit=detail.destination_commit,
            title=detail.title,
            url=(
                f"https://{event.region}.console.aws.amazon.com/codesuite/codecommit/repositories/"
                f"{detail.repository_names[0]}/pull-requests/{detail.pull_request_id}"
            ),
            merged=detail.is_merged == "True",
        ),
    )
