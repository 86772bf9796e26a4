"""GitHub commit statuses (``POST /repos/{owner}/{repo}/statuses/{sha}``), for pipelines that
report their executions on the commits they build. The token comes from the secret store and
goes to the configured API host only; it is never logged, nor put in an error message."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from stepline.adapters.github import API, _NoRedirects, api_headers
from stepline.errors import ConfigurationError
from stepline.ports.secrets import SecretStore


class StatusRefused(Exception):
    """GitHub answered the status with an error; retrying will not change it (a 4xx)."""


class GitHubCommitStatuses:
    def __init__(self, secrets: SecretStore, token_secret: str, api_url: str = API, timeout: float = 30) -> None:
        self.secrets = secrets
        self.token_secret = token_secret
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.opener = urllib.request.build_opener(_NoRedirects())

    def post(self, repository: str, commit: str, status: dict[str, str]) -> None:
        """Set ``status`` (state, target_url, description, context) on the commit."""
        try:
            token = self.secrets.get(self.token_secret)
        except LookupError as error:
            raise ConfigurationError(f"GitHub {repository}: no token to report a commit status: {error}") from None
        url = f"{self.api_url}/repos/{repository}/statuses/{quote(commit, safe='')}"
        request = urllib.request.Request(  # noqa: S310 - the configured GitHub API URL
            url,
            data=json.dumps(status).encode(),
            method="POST",
            headers={**api_headers(token), "Content-Type": "application/json"},
        )
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            detail = _message(error)
            if error.code >= 500 or error.code == 429:
                raise ConnectionError(f"GitHub {repository}@{commit[:12]}: status answered {error.code}") from None
            raise StatusRefused(f"GitHub {repository}@{commit[:12]}: status refused ({error.code}): {detail}") from None
        except (urllib.error.URLError, TimeoutError) as error:
            raise ConnectionError(f"GitHub could not be reached: {error}") from None


def _message(error: urllib.error.HTTPError) -> str:
    try:
        loaded: Any = json.loads(error.read()[:4096])
    except ValueError:
        return "(no JSON message)"
    return str(loaded.get("message", "")) if isinstance(loaded, dict) else "(no JSON message)"
