"""A client of Stepline's JSON API, for the CLI: the same requests on AWS and locally."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urlencode

from stepline.errors import SteplineError

TIMEOUT_SECONDS = 30


class ApiRefused(SteplineError):
    """The API answered with an error: its status and its own message."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class ApiUnreachable(SteplineError):
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


def decide_through_link(link: str, approve: bool, comment: str, reviewer: str) -> tuple[int, str]:
    """Open a review link and submit its form, as a person's browser does (the cookie and the
    form's CSRF token included): the status and the page. For ``stepline run --approve``."""
    if not link.startswith(("http://", "https://")):
        raise ApiUnreachable(f"not a review link: {link!r}")
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    try:
        with opener.open(link, timeout=TIMEOUT_SECONDS) as page:
            fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.read().decode()))
        decision = {"decision": "approve" if approve else "reject", "reviewer": reviewer, "comment": comment}
        body = urlencode(fields | decision).encode()
        form = urllib.request.Request(link.split("?", 1)[0], data=body, method="POST")  # noqa: S310  # scheme checked
        with opener.open(form, timeout=TIMEOUT_SECONDS) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, OSError) as error:
        raise ApiUnreachable(f"cannot open the review link {link}: {getattr(error, 'reason', error)}") from None
