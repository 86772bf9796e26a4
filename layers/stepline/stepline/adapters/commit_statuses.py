"""Commit statuses on GitHub, GitLab and Bitbucket Cloud, for pipelines that report their
executions on the commits they build. Each forge's token comes from the secret store and goes
to that forge's configured API host only; it is never logged, nor put in an error message.

The reporter speaks GitHub's four states (pending, success, failure, error); each forge's
adapter says them in its own words: GitLab's running/success/failed/canceled
(``POST /projects/:id/statuses/:sha``), Bitbucket's INPROGRESS/SUCCESSFUL/FAILED/STOPPED
(``POST /repositories/{workspace}/{repo}/commit/{sha}/statuses/build``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from stepline.adapters.github import API, _NoRedirects, api_headers
from stepline.errors import ConfigurationError
from stepline.ports.secrets import SecretStore
from stepline.ports.statuses import CommitStatuses

GITLAB_STATES = {"pending": "running", "success": "success", "failure": "failed", "error": "canceled"}
BITBUCKET_STATES = {"pending": "INPROGRESS", "success": "SUCCESSFUL", "failure": "FAILED", "error": "STOPPED"}


class StatusRefused(Exception):
    """The forge answered the status with an error; retrying will not change it (a 4xx)."""


@dataclass(frozen=True)
class Forge:
    """One forge's API: where, with which token, and how a status is written there."""

    name: str  # GitHub, GitLab, Bitbucket
    api_url: str
    token_secret: str


class ForgeCommitStatuses:
    """The CommitStatuses port for the forges in ``forges`` (by provider name)."""

    def __init__(
        self,
        secrets: SecretStore,
        forges: Mapping[str, Forge],
        others: Mapping[str, CommitStatuses] | None = None,
        timeout: float = 30,
    ) -> None:
        self.secrets = secrets
        self.forges = forges
        self.others = others or {}  # providers reported some other way (CodeCommit: a pull request comment)
        self.timeout = timeout
        self.opener = urllib.request.build_opener(_NoRedirects())

    def post(self, provider: str, repository: str, commit: str, status: dict[str, str]) -> None:
        """Set ``status`` (state, target_url, description, context) on the commit."""
        if provider in self.others:
            self.others[provider].post(provider, repository, commit, status)
            return
        forge = self.forges.get(provider)
        if forge is None:
            raise ConfigurationError(f"{provider} {repository}: commit statuses go to GitHub, GitLab or Bitbucket")
        try:
            token = self.secrets.get(forge.token_secret)
        except LookupError as error:
            raise ConfigurationError(f"{provider} {repository}: no token to report a commit status: {error}") from None
        url, headers, body = _request(forge, token, repository, commit, status)
        self._send(url, headers, body, f"{provider} {repository}@{commit[:12]}")

    def _send(self, url: str, headers: dict[str, str], body: dict[str, str], where: str) -> None:
        request = urllib.request.Request(  # noqa: S310 - the configured forge API URL
            url, data=json.dumps(body).encode(), method="POST", headers={**headers, "Content-Type": "application/json"}
        )
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            if error.code >= 500 or error.code == 429:
                raise ConnectionError(f"{where}: the status was answered {error.code}") from None
            raise StatusRefused(f"{where}: status refused ({error.code}): {_message(error)}") from None
        except (urllib.error.URLError, TimeoutError) as error:
            raise ConnectionError(f"{where}: the forge could not be reached: {error}") from None


def _request(
    forge: Forge, token: str, repository: str, commit: str, status: dict[str, str]
) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL, headers and body that set ``status`` on this forge."""
    base, sha = forge.api_url.rstrip("/"), quote(commit, safe="")
    if forge.name == "GitLab":
        body = {
            "state": GITLAB_STATES[status["state"]],
            "name": status["context"],
            "target_url": status["target_url"],
            "description": status["description"],
        }
        return f"{base}/projects/{quote(repository, safe='')}/statuses/{sha}", {"PRIVATE-TOKEN": token}, body
    if forge.name == "Bitbucket":
        body = {
            "key": status["context"][:40],
            "state": BITBUCKET_STATES[status["state"]],
            "name": status["context"],
            "url": status["target_url"],
            "description": status["description"],
        }
        headers = {"Authorization": f"Bearer {token}"}
        return f"{base}/repositories/{repository}/commit/{sha}/statuses/build", headers, body
    return f"{base}/repos/{repository}/statuses/{sha}", api_headers(token), status


def forges(github: tuple[str, str], gitlab: tuple[str, str], bitbucket: tuple[str, str]) -> dict[str, Forge]:
    """(API URL, token secret) of each forge, as the settings name them."""
    return {
        name: Forge(name, url or default, secret)
        for name, (url, secret), default in (
            ("GitHub", github, API),
            ("GitLab", gitlab, "https://gitlab.com/api/v4"),
            ("Bitbucket", bitbucket, "https://api.bitbucket.org/2.0"),
        )
    }


def _message(error: urllib.error.HTTPError) -> str:
    try:
        loaded: Any = json.loads(error.read()[:4096])
    except ValueError:
        return "(no JSON message)"
    return str(loaded.get("message", "")) if isinstance(loaded, dict) else "(no JSON message)"
