"""A client of Stepline's JSON API, for the CLI: the same requests on AWS and locally."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

TIMEOUT_SECONDS = 30


class ApiRefused(Exception):
    """The API answered with an error: its status and its own message."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class ApiUnreachable(Exception):
    """Nothing answered at the URL."""


class ApiClient:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self._token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if not self.url.startswith(("http://", "https://")):
            raise ApiUnreachable(f"the Stepline API URL must start with http:// or https://, not {self.url!r}")
        request = urllib.request.Request(  # noqa: S310  # the scheme is checked above
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={
                "Authorization": f"Bearer {self._token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
                return _json(answer.read())
        except urllib.error.HTTPError as error:
            refusal = _json(error.read())
            raise ApiRefused(error.code, str(refusal.get("message") or error.reason)) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ApiUnreachable(f"cannot reach the Stepline API at {self.url}: {reason}") from None


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
