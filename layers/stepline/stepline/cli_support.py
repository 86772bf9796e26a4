"""What every ``stepline`` command shares: failures that print one line, and the API token."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse


class CommandFailed(Exception):
    """Something outside the user's input stood in the way (an API's refusal, an unreachable
    server, a missing stack); the message says what, and the command exits 1."""


class BadUsage(Exception):
    """The command line or a file it names is unusable; the command exits 2."""


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def api_token_for(url: str, data: Path) -> str:
    """The token the API at ``url`` wants: $STEPLINE_API_TOKEN, else the one `stepline serve`
    made in ``data`` for a server on this machine. Never from the command line (other users
    can read a process's arguments)."""
    given = os.environ.get("STEPLINE_API_TOKEN")
    if given:
        return given
    if urlparse(url).hostname in LOOPBACK:
        file = data / "api-token"
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError:
            raise CommandFailed(
                f"no API token in {file}: is stepline serve running with --data {data}? (or set STEPLINE_API_TOKEN)"
            ) from None
    raise CommandFailed(
        f"set STEPLINE_API_TOKEN for {url}: on AWS it is the secret the stack's ApiTokenSecretArn output "
        "names (aws secretsmanager get-secret-value --secret-id ARN)"
    )


def default_data() -> str:
    """Where local state lives unless --data says: $STEPLINE_DATA, else .stepline here."""
    return os.environ.get("STEPLINE_DATA", ".stepline")
