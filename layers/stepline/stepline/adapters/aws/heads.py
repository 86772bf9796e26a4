"""The SourceHeads port on AWS, for polled sources: CodeCommit's GetBranch, S3's HeadObject
(the latest version id), GitHub's commits API for a GitHub (version 1) source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from stepline.adapters.aws.sources import _codecommit_error, _s3_error
from stepline.adapters.github_changes import GitHubHeads


class AwsSourceHeads:
    def __init__(self, codecommit: Any, s3: Any, github: GitHubHeads) -> None:
        self.codecommit = codecommit
        self.s3 = s3
        self.github = github

    def head(self, provider: str, configuration: Mapping[str, str]) -> str:
        if provider == "CodeCommit":
            repository, branch = configuration["RepositoryName"], configuration["BranchName"]
            try:
                found = self.codecommit.get_branch(repositoryName=repository, branchName=branch)
            except ClientError as error:
                raise _codecommit_error(error, repository, branch) from None
            return str(found["branch"]["commitId"])
        if provider == "S3":
            bucket, key = configuration["S3Bucket"], configuration["S3ObjectKey"]
            try:
                found = self.s3.head_object(Bucket=bucket, Key=key)
            except ClientError as error:
                raise _s3_error(error, f"s3://{bucket}/{key}") from None
            version = found.get("VersionId")
            if not version or version == "null":
                raise LookupError(f"s3://{bucket}/{key}: the bucket is not versioned; S3 sources need it")
            return str(version)
        if provider == "GitHub":
            return self.github.head(f"{configuration['Owner']}/{configuration['Repo']}", configuration["Branch"])
        raise LookupError(f"Source/{provider} is not polled")
