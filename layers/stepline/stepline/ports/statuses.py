"""Commit statuses: where an execution's state is reported on the commit it builds."""

from __future__ import annotations

from typing import Protocol


class CommitStatuses(Protocol):
    def post(self, provider: str, repository: str, commit: str, status: dict[str, str]) -> None:
        """Set ``status`` (GitHub's words: state pending/success/failure/error, target_url,
        description, context) on the commit in ``provider``'s repository (GitHub, GitLab,
        Bitbucket), or comment it on a CodeCommit pull request (``status`` then also holds
        ``pullRequestId`` and ``beforeCommitId``); raise when it was not set (a retried
        delivery sets it)."""
        ...
