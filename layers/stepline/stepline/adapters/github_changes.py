"""GitHub's REST API for triggers: the ChangedPaths port on the compare API (pull request
triggers with file-path filters), and a branch's head (polled GitHub version 1 sources).

GitHub's ``pull_request`` event names the base and head commits but not the files; the
three-dot compare (``base...head``) lists what the request changes from where it branched.
GitHub caps the list at 300 files: a request changing more is read as those 300.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from stepline.actions.errors import SourceAccessError
from stepline.adapters.github import API, HttpClient, _check, api_headers
from stepline.ports.secrets import SecretStore


class _GitHubApi:
    def __init__(self, http: HttpClient, secrets: SecretStore, token_secret: str) -> None:
        self.http = http
        self.secrets = secrets
        self.token_secret = token_secret

    def _get(self, repository: str, path: str, reference: str, purpose: str) -> dict[str, Any]:
        try:
            token = self.secrets.get(self.token_secret)
        except LookupError as error:
            raise SourceAccessError(f"GitHub {repository}: no token to {purpose}: {error}") from None
        response = self.http.get(f"{API}/repos/{repository}/{path}", api_headers(token))
        _check(response, repository, reference)
        try:
            loaded: dict[str, Any] = json.loads(response.body.read())
        except ValueError:
            raise SourceAccessError(f"GitHub {repository}: the API answered with something not JSON") from None
        return loaded


class GitHubHeads(_GitHubApi):
    """A branch's head commit, for a polled GitHub (version 1) source."""

    def head(self, repository: str, branch: str) -> str:
        found = self._get(repository, f"commits/{quote(branch, safe='')}", branch, "poll a branch")
        return str(found["sha"])


class GitHubChangedPaths(_GitHubApi):
    def between(self, repository: str, old_commit: str, new_commit: str) -> set[str]:
        span = f"{quote(old_commit, safe='')}...{quote(new_commit, safe='')}"
        compared = self._get(repository, f"compare/{span}", span, "list a pull request's files")
        paths: set[str] = set()
        for changed in compared.get("files", []):
            paths.update(str(changed[key]) for key in ("filename", "previous_filename") if changed.get(key))
        return paths
