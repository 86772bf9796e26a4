"""Source providers on AWS: an S3 object version, and a CodeCommit commit read through its API."""

from __future__ import annotations

import stat
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from stepline.actions.errors import (
    ArtifactError,
    SourceAccessError,
    SourceNotFoundError,
    TransientActionError,
)
from stepline.adapters.aws import error_code
from stepline.errors import ConfigurationError
from stepline.ports.sources import SourceRequest

_THROTTLING = {
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ServiceUnavailable",
}


class S3ObjectSource:
    """``Source/AWS/S3``: the object (a zip) at ``S3ObjectKey``, the version the trigger names or the latest."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def fetch(self, request: SourceRequest, archive: Path) -> dict[str, str]:
        configuration = request.configuration
        bucket, key = configuration["S3Bucket"], configuration["S3ObjectKey"]
        where = f"s3://{bucket}/{key}"
        try:
            versioning = self.client.get_bucket_versioning(Bucket=bucket).get("Status")
            if versioning != "Enabled":
                raise ConfigurationError(f"{where}: the bucket must have versioning enabled to be a pipeline source")
            version = request.revision.get("versionId")
            extra = {"VersionId": version} if isinstance(version, str) else {}
            head = self.client.head_object(Bucket=bucket, Key=key, **extra)
            self.client.download_file(bucket, key, str(archive), ExtraArgs=extra)
        except ClientError as error:
            raise _s3_error(error, where) from None
        if not zipfile.is_zipfile(archive):
            raise ArtifactError(f"{where} is not a zip file; an S3 source object must be a zip")
        return {"ETag": str(head["ETag"]).strip('"'), "VersionId": str(head.get("VersionId", ""))}


def _s3_error(error: ClientError, where: str) -> Exception:
    code = error_code(error)
    if code in {"404", "NoSuchKey", "NoSuchBucket", "NoSuchVersion", "NotFound"}:
        return SourceNotFoundError(f"{where} does not exist ({code})")
    if code in {"403", "AccessDenied"}:
        return SourceAccessError(f"{where} cannot be read: access denied")
    if code in _THROTTLING or code.startswith("5"):
        return TransientActionError(f"{where}: S3 answered {code}; retrying")
    return SourceAccessError(f"{where}: S3 answered {code}")


class CodeCommitSource:
    """``Source/AWS/CodeCommit`` through the CodeCommit API: the branch head or the commit the
    trigger names, written out as a zip of the commit's tree (files, modes and symbolic links)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def fetch(self, request: SourceRequest, archive: Path) -> dict[str, str]:
        repository = request.configuration["RepositoryName"]
        branch = request.branch(request.configuration["BranchName"]) or ""
        try:
            commit_id = request.commit()
            if commit_id is None:
                commit_id = self.client.get_branch(repositoryName=repository, branchName=branch)["branch"]["commitId"]
            commit = self.client.get_commit(repositoryName=repository, commitId=commit_id)["commit"]
            with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
                self._folder(bundle, repository, commit_id, "/")
        except ClientError as error:
            raise _codecommit_error(error, repository, branch) from None
        return {
            "CommitId": commit_id,
            "CommitMessage": str(commit.get("message", "")).strip(),
            "RepositoryName": repository,
            "BranchName": branch,
            "AuthorDate": _git_date(commit.get("author", {}).get("date", "")),
            "CommitterDate": _git_date(commit.get("committer", {}).get("date", "")),
        }

    def _folder(self, bundle: zipfile.ZipFile, repository: str, commit_id: str, path: str) -> None:
        folder = self.client.get_folder(repositoryName=repository, commitSpecifier=commit_id, folderPath=path)
        for entry in folder.get("files", []):
            content = self.client.get_file(
                repositoryName=repository, commitSpecifier=commit_id, filePath=entry["absolutePath"]
            )["fileContent"]
            info = zipfile.ZipInfo(entry["absolutePath"].lstrip("/"))
            executable = entry.get("fileMode") == "EXECUTABLE"
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, content)
        for link in folder.get("symbolicLinks", []):
            target = self.client.get_blob(repositoryName=repository, blobId=link["blobId"])["content"]
            info = zipfile.ZipInfo(link["absolutePath"].lstrip("/"))
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, target)
        for child in folder.get("subFolders", []):
            self._folder(bundle, repository, commit_id, child["absolutePath"])


def _codecommit_error(error: ClientError, repository: str, branch: str) -> Exception:
    code = error_code(error)
    if code == "RepositoryDoesNotExistException":
        return SourceNotFoundError(f"CodeCommit repository {repository!r} does not exist")
    if code == "BranchDoesNotExistException":
        return SourceNotFoundError(f"CodeCommit repository {repository!r} has no branch {branch!r}")
    if code in {"CommitDoesNotExistException", "CommitIdDoesNotExistException"}:
        return SourceNotFoundError(f"CodeCommit repository {repository!r} has no such commit")
    if code in _THROTTLING:
        return TransientActionError(f"CodeCommit throttled the request for {repository!r}; retrying")
    if code in {"AccessDeniedException", "EncryptionKeyAccessDeniedException"}:
        return SourceAccessError(f"CodeCommit repository {repository!r} cannot be read: {code}")
    return SourceAccessError(f"CodeCommit repository {repository!r}: {code}: {error}")


def _git_date(text: str) -> str:
    """CodeCommit's "1484167798 +0000" as ISO 8601, as CodePipeline's variables give dates."""
    try:
        seconds, offset = text.split()
        sign = -1 if offset.startswith("-") else 1
        zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        return datetime.fromtimestamp(int(seconds), UTC).astimezone(zone).isoformat()
    except (ValueError, IndexError):
        return text


class CodeCommitChangedPaths:
    """The ChangedPaths port on CodeCommit's GetDifferences (paged; both sides of renames)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def between(self, repository: str, old_commit: str, new_commit: str) -> set[str]:
        parameters: dict[str, str] = {"repositoryName": repository, "afterCommitSpecifier": new_commit}
        if old_commit:
            parameters["beforeCommitSpecifier"] = old_commit
        paths: set[str] = set()
        try:
            while True:
                page = self.client.get_differences(**parameters)
                for difference in page.get("differences", []):
                    for side in ("beforeBlob", "afterBlob"):
                        path = difference.get(side, {}).get("path")
                        if path:
                            paths.add(path)
                if not page.get("NextToken"):
                    return paths
                parameters["NextToken"] = page["NextToken"]
        except ClientError as error:
            raise _codecommit_error(error, repository, "") from None
