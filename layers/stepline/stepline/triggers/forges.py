"""GitLab and Bitbucket Cloud webhooks, as typed models, read into ``RepositoryChange``s.

Fields are those of each vendor's documented payloads: GitLab's "Push events", "Tag events"
and "Merge request events" (docs.gitlab.com, "Webhook events"); Bitbucket Cloud's
``repo:push`` and ``pullrequest:*`` ("Event payloads"). A connection's ``FullRepositoryId``
is GitLab's ``path_with_namespace`` and Bitbucket's ``workspace/repo`` ``full_name``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from stepline.triggers.changes import PullRequest, PullRequestEvent, RepositoryChange, from_git_ref


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class GitLabProject(_Model):
    path_with_namespace: str


class GitLabCommit(_Model):
    id: str
    added: list[str] = Field(default_factory=list)
    modified: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


class GitLabPush(_Model):
    """A "Push Hook" or "Tag Push Hook" payload (object_kind push / tag_push)."""

    object_kind: str
    ref: str
    before: str
    after: str
    project: GitLabProject
    commits: list[GitLabCommit] = Field(default_factory=list)
    total_commits_count: int = 0


def from_gitlab_push(push: GitLabPush, delivery: str) -> RepositoryChange | None:
    # GitLab lists at most 20 commits per push: beyond that the files are asked for, not guessed.
    complete = push.total_commits_count <= len(push.commits)
    paths = {path for commit in push.commits for path in (*commit.added, *commit.modified, *commit.removed)}
    return from_git_ref(
        "GitLab",
        push.project.path_with_namespace,
        push.ref,
        push.before,
        push.after,
        delivery,
        frozenset(paths) if complete else None,
    )


class GitLabLastCommit(_Model):
    id: str


class GitLabMergeRequestAttributes(_Model):
    iid: int
    title: str = ""
    url: str = ""
    source_branch: str
    target_branch: str
    state: str = ""
    action: str = ""
    oldrev: str | None = None  # present on an "update" that pushed commits
    last_commit: GitLabLastCommit


class GitLabMergeRequest(_Model):
    """A "Merge Request Hook" payload (object_kind merge_request)."""

    object_kind: str
    project: GitLabProject
    object_attributes: GitLabMergeRequestAttributes


def _gitlab_event(attributes: GitLabMergeRequestAttributes) -> PullRequestEvent | None:
    if attributes.action in {"open", "reopen"}:
        return "OPEN"
    if attributes.action == "update" and attributes.oldrev:
        return "UPDATED"  # an update without oldrev changed the title, labels or reviewers
    if attributes.action in {"close", "merge"}:
        return "CLOSED"
    return None


def from_gitlab_merge_request(request: GitLabMergeRequest, delivery: str) -> RepositoryChange | None:
    attributes = request.object_attributes
    kind = _gitlab_event(attributes)
    if kind is None:
        return None
    return RepositoryChange(
        provider="GitLab",
        repository=request.project.path_with_namespace,
        reference_type="branch",
        reference_name=attributes.source_branch,
        commit_id=attributes.last_commit.id,
        event_id=delivery,
        pull_request=PullRequest(
            number=str(attributes.iid),
            event=kind,
            destination_branch=attributes.target_branch,
            title=attributes.title,
            url=attributes.url,
            merged=attributes.action == "merge",
        ),
    )


class BitbucketRepository(_Model):
    full_name: str


class BitbucketTarget(_Model):
    hash: str


class BitbucketReference(_Model):
    type: str  # branch, tag (also named_branch, bookmark on other kinds of repository)
    name: str
    target: BitbucketTarget


class BitbucketChange(_Model):
    new: BitbucketReference | None = None
    old: BitbucketReference | None = None


class BitbucketPushDetails(_Model):
    changes: list[BitbucketChange]


class BitbucketPush(_Model):
    """A ``repo:push`` payload: one push may move several branches and tags."""

    repository: BitbucketRepository
    push: BitbucketPushDetails


def from_bitbucket_push(push: BitbucketPush, delivery: str) -> list[RepositoryChange]:
    """One change per branch or tag the push moved; Bitbucket's push lists no files."""
    changes = []
    for index, moved in enumerate(push.push.changes):
        reference = moved.new or moved.old
        if reference is None or reference.type not in {"branch", "tag"}:
            continue
        prefix = "refs/heads/" if reference.type == "branch" else "refs/tags/"
        change = from_git_ref(
            "Bitbucket",
            push.repository.full_name,
            prefix + reference.name,
            moved.old.target.hash if moved.old else "",
            moved.new.target.hash if moved.new else "",
            f"{delivery}#{index}",
            None,
        )
        if change is not None:
            changes.append(change)
    return changes


class BitbucketBranch(_Model):
    name: str


class BitbucketEndpoint(_Model):
    branch: BitbucketBranch
    commit: BitbucketTarget


class BitbucketLink(_Model):
    href: str = ""


class BitbucketLinks(_Model):
    html: BitbucketLink = BitbucketLink()


class BitbucketPullRequestBody(_Model):
    id: int
    title: str = ""
    state: str = ""
    source: BitbucketEndpoint
    destination: BitbucketEndpoint
    links: BitbucketLinks = BitbucketLinks()


class BitbucketPullRequest(_Model):
    """A ``pullrequest:created|updated|fulfilled|rejected`` payload."""

    repository: BitbucketRepository
    pullrequest: BitbucketPullRequestBody


BITBUCKET_EVENTS: dict[str, PullRequestEvent] = {
    "pullrequest:created": "OPEN",
    "pullrequest:updated": "UPDATED",
    "pullrequest:fulfilled": "CLOSED",  # merged
    "pullrequest:rejected": "CLOSED",  # declined
}


def from_bitbucket_pull_request(request: BitbucketPullRequest, kind: str, delivery: str) -> RepositoryChange | None:
    event = BITBUCKET_EVENTS.get(kind)
    if event is None:
        return None
    pull = request.pullrequest
    return RepositoryChange(
        provider="Bitbucket",
        repository=request.repository.full_name,
        reference_type="branch",
        reference_name=pull.source.branch.name,
        commit_id=pull.source.commit.hash,
        old_commit_id=pull.destination.commit.hash,
        event_id=delivery,
        pull_request=PullRequest(
            number=str(pull.id),
            event=event,
            destination_branch=pull.destination.branch.name,
            destination_commit=pull.destination.commit.hash,
            title=pull.title,
            url=pull.links.html.href,
            merged=kind == "pullrequest:fulfilled",
        ),
    )
