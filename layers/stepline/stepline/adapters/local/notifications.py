"""Notifications on one machine: a line on the terminal, and optionally a JSON POST to a URL
(a chat webhook, say)."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Mapping
from typing import TextIO

from stepline.observability import logger


class TerminalNotifier:
    def __init__(self, stream: TextIO | None = None, webhook_url: str | None = None) -> None:
        self.stream = stream
        self.webhook_url = webhook_url

    def publish(self, target: str, subject: str, message: Mapping[str, object]) -> None:
        approval = message.get("approval")
        link = approval.get("approvalReviewLink", "") if isinstance(approval, dict) else ""
        print(f"{subject}\n  review: {link}", file=self.stream or sys.stderr, flush=True)
        if self.webhook_url:
            body = json.dumps({"text": f"{subject}: {link}", **message}).encode()
            request = urllib.request.Request(  # noqa: S310 - the user's own configured URL
                self.webhook_url, data=body, headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=10):  # noqa: S310
                    pass
            except OSError as error:  # the terminal line went out; a chat outage must not fail the stage
                logger.warning("approval webhook failed", extra={"url": self.webhook_url, "error": str(error)})
