"""GitHub sources through the REST API, against recorded-shape responses (no network)."""

from __future__ import annotations

import copy
import io
import json
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from stepline.actions.errors import SourceAccessError, SourceNotFoundError, TransientActionError
from stepline.actions.request import ActionRequest
from stepline.actions.source import run_source_action
from stepline.adapters.github import GitHubSource, HttpResponse
from stepline.adapters.local.artifacts import LocalArtifactStore
from tests.helpers import EVENTS, load_event

SHA = "3e9ecf5a1ad7a2c5f8e6b4d2c1a09f8e7d6c5b4a"
TOP = f"example-org-payments-{SHA[:7]}"


class FileSecretStore:
    """The secrets port from a JSON file of name → value: the connection's token, for these tests."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, name: str) -> str:
        try:
            secrets = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LookupError(f"secret {name!r}: the secrets file {self.path} does not exist") from None
        except json.JSONDecodeError as error:
            raise LookupError(f"secret {name!r}: {self.path} is not JSON ({error.msg}, line {error.lineno})") from None
        value = secrets.get(name) if isinstance(secrets, dict) else None
        if not isinstance(value, str):
            raise LookupError(f"secret {name!r} is not in {self.path}")
        return value


def tarball(entries: list[tuple[str, bytes | None, str | None]], *, gzip: bool = True) -> bytes:
    """(name, content, link target): a tarball laid out as GitHub serves one."""
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w:gz" if gzip else "w", format=tarfile.PAX_FORMAT, pax_headers={"comment": SHA}
    ) as tar:
        folder = tarfile.TarInfo(TOP + "/")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for name, content, link in entries:
            info = tarfile.TarInfo(name if name.startswith(("/", "..")) else f"{TOP}/{name}")
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            else:
                info.size = len(content or b"")
                info.mode = 0o755 if name.endswith(".sh") else 0o644
                tar.addfile(info, io.BytesIO(content or b""))
    return buffer.getvalue()


class RecordedGitHub:
    """Answers like api.github.com and codeload.github.com, and remembers what was asked."""

    def __init__(self, tar: bytes, overrides: dict[str, HttpResponse] | None = None) -> None:
        self.tar = tar
        self.overrides = overrides or {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    def get(self, url: str, headers: Mapping[str, str]) -> HttpResponse:
        self.requests.append((url, dict(headers)))
        for fragment, response in self.overrides.items():
            if fragment in url:
                return response
        if "/commits/" in url:
            return HttpResponse(
                200, {"Content-Type": "application/json"}, io.BytesIO((EVENTS / "github" / "commit.json").read_bytes())
            )
        if "/tarball/" in url:
            return HttpResponse(
                302,
                {"Location": f"https://codeload.github.com/example-org/payments/legacy.tar.gz/{SHA}?token=signed"},
                io.BytesIO(),
            )
        if url.startswith("https://codeload.github.com/"):
            return HttpResponse(200, {"Content-Type": "application/x-gzip"}, io.BytesIO(self.tar))
        return HttpResponse(404, {}, io.BytesIO(b'{"message": "Not Found"}'))


def request(provider: str = "CodeStarSourceConnection") -> ActionRequest:
    event = copy.deepcopy(load_event("source/codecommit-branch-head.json"))
    if provider == "GitHub":
        event["action"]["actionTypeId"] = {
            "category": "Source",
            "owner": "ThirdParty",
            "provider": "GitHub",
            "version": "1",
        }
        event["action"]["configuration"] = {
            "Owner": "example-org",
            "Repo": "payments",
            "Branch": "main",
            "OAuthToken": "****",
        }
    else:
        event["action"]["actionTypeId"]["provider"] = "CodeStarSourceConnection"
        event["action"]["configuration"] = {
            "ConnectionArn": "arn:aws:codestar-connections:us-east-1:111122223333:connection/0f1e2d3c",
            "FullRepositoryId": "example-org/payments",
            "BranchName": "main",
        }
    return ActionRequest.model_validate(event)


@pytest.fixture
def secrets(tmp_path: Path) -> FileSecretStore:
    (tmp_path / "secrets.json").write_text(json.dumps({"github-token": "ghp_recorded"}))
    return FileSecretStore(tmp_path / "secrets.json")


def fetch(
    tmp_path: Path, secrets: FileSecretStore, github: RecordedGitHub, provider: str = "CodeStarSourceConnection"
) -> dict[str, Any]:
    source = GitHubSource(github, secrets, "github-token")
    return run_source_action(request(provider), source, LocalArtifactStore(tmp_path / "artifacts"))


def unpack(result: dict[str, Any]) -> dict[str, bytes]:
    with zipfile.ZipFile(next(iter(result["artifacts"].values()))["location"].removeprefix("file://")) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def test_a_connection_source_fetches_the_commit_tarball_as_a_zip(tmp_path: Path, secrets: FileSecretStore) -> None:
    github = RecordedGitHub(
        tarball([("app.py", b"print('pay')", None), ("bin/run.sh", b"#!/bin/sh", None), ("current", None, "app.py")])
    )
    result = fetch(tmp_path, secrets, github)
    assert unpack(result) == {"app.py": b"print('pay')", "bin/run.sh": b"#!/bin/sh", "current": b"app.py"}
    assert result["variables"] == {
        "CommitId": SHA,
        "CommitMessage": "Retry payments on 503 (#412)\n\nCo-authored-by: Bo <bo@example.com>",
        "BranchName": "main",
        "AuthorDate": "2026-11-20T09:14:03Z",
        "ConnectionArn": "arn:aws:codestar-connections:us-east-1:111122223333:connection/0f1e2d3c",
        "FullRepositoryName": "example-org/payments",
    }
    (commits_url, commit_headers), (tarball_url, _), (download_url, download_headers) = github.requests
    assert commits_url == "https://api.github.com/repos/example-org/payments/commits/main"
    assert commit_headers["Authorization"] == "Bearer ghp_recorded"
    assert tarball_url == f"https://api.github.com/repos/example-org/payments/tarball/{SHA}"
    assert download_url.startswith("https://codeload.github.com/")
    assert "Authorization" not in download_headers  # the token never leaves api.github.com


def test_a_github_v1_source_has_its_documented_variables(tmp_path: Path, secrets: FileSecretStore) -> None:
    result = fetch(tmp_path, secrets, RecordedGitHub(tarball([("a", b"1", None)])), provider="GitHub")
    assert result["variables"]["CommitUrl"] == f"https://github.com/example-org/payments/commit/{SHA}"
    assert result["variables"]["RepositoryName"] == "payments"


@pytest.mark.parametrize(
    ("response", "error", "message"),
    [
        (
            HttpResponse(401, {}, io.BytesIO(b'{"message": "Bad credentials"}')),
            SourceAccessError,
            "GitHub refused the token (401 Bad credentials)",
        ),
        (
            HttpResponse(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1795258800"}, io.BytesIO(b"{}")),
            TransientActionError,
            "GitHub's API rate limit is exhausted; it resets at 11:00:00 UTC",
        ),
        (HttpResponse(429, {"Retry-After": "60"}, io.BytesIO(b"{}")), TransientActionError, "it resets in 60 seconds"),
        (HttpResponse(403, {}, io.BytesIO(b"{}")), SourceAccessError, "the token may not read this repository (403)"),
        (
            HttpResponse(404, {}, io.BytesIO(b"{}")),
            SourceNotFoundError,
            "no such repository or commit, or the token cannot see it (404)",
        ),
        (HttpResponse(502, {}, io.BytesIO(b"")), TransientActionError, "GitHub answered 502"),
    ],
)
def test_api_errors_are_named(
    tmp_path: Path, secrets: FileSecretStore, response: HttpResponse, error: type[Exception], message: str
) -> None:
    github = RecordedGitHub(b"", {"/commits/": response})
    with pytest.raises(error) as caught:
        fetch(tmp_path, secrets, github)
    assert message in str(caught.value)


def test_a_missing_token_is_named(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text("{}")
    with pytest.raises(SourceAccessError, match="no token: secret 'github-token' is not in"):
        fetch(tmp_path, FileSecretStore(tmp_path / "secrets.json"), RecordedGitHub(b""))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("../../escape.txt", b"x", None)], "would be written outside the repository"),
        ([("passwd", None, "/etc/passwd")], "the link passwd points outside the repository (/etc/passwd)"),
        ([("deep/up", None, "../../..")], "points outside the repository"),
    ],
)
def test_unsafe_tarballs_are_refused(
    tmp_path: Path, secrets: FileSecretStore, entries: list[tuple[str, bytes | None, str | None]], message: str
) -> None:
    with pytest.raises(SourceAccessError) as caught:
        fetch(tmp_path, secrets, RecordedGitHub(tarball(entries)))
    assert message in str(caught.value)


def test_a_corrupt_tarball_is_named(tmp_path: Path, secrets: FileSecretStore) -> None:
    with pytest.raises(SourceAccessError, match="the tarball is corrupt"):
        fetch(tmp_path, secrets, RecordedGitHub(b"\x1f\x8b\x08 truncated gzip"))
