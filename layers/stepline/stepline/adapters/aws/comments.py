"""A CodeCommit pull request told what its execution concluded: a comment
(PostCommentForPullRequest), CodeCommit having no commit statuses. The client request token is
derived from the comment, so a retried post adds no second comment."""

from __future__ import annotations

import hashlib
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stepline.adapters.aws import error_code

TRANSIENT = {"ThrottlingException", "TooManyRequestsException", "ServiceUnavailableException"}


class CommentRefused(Exception):
    """CodeCommit refused the comment (a deleted request, a missing permission); said, not retried."""


class CodeCommitPullRequestComments:
    def __init__(self, client: Any) -> None:
        self.client = client

    def post(self, provider: str, repository: str, commit: str, status: dict[str, str]) -> None:
        request = status["pullRequestId"]
        content = (
            f"**{status['context']}**: {status['state']} - {status['description']}\n\n"
            f"[The execution in the console]({status['target_url']})"
        )
        token = hashlib.sha256(f"{repository}\0{request}\0{commit}\0{content}".encode()).hexdigest()
        try:
            self.client.post_comment_for_pull_request(
                pullRequestId=request,
                repositoryName=repository,
                beforeCommitId=status["beforeCommitId"],
                afterCommitId=commit,
                content=content,
                clientRequestToken=token,
            )
        except ClientError as error:
            code = error_code(error)
            where = f"CodeCommit {repository} pull request {request}"
            if code in TRANSIENT or code.startswith("5"):
                raise ConnectionError(f"{where}: the comment was answered {code}") from None
            raise CommentRefused(f"{where}: the comment was refused ({code})") from None
        except BotoCoreError as error:
            raise ConnectionError(f"CodeCommit could not be reached: {error}") from None
