"""Run control's events on one machine: each written to the server's log, and POSTed as JSON
to every subscriber (``STEPLINE_EVENT_WEBHOOKS``), in order. A subscriber that cannot be
reached is logged and skipped: a chat integration being down never holds a pipeline up."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from stepline.observability import logger

TIMEOUT_SECONDS = 5


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(  # noqa: S310 - settings admit only http(s) URLs
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):  # noqa: S310
        pass


class LocalEventPublisher:
    def __init__(self, webhooks: list[str], post: Callable[[str, bytes], None] = _post) -> None:
        self.webhooks = webhooks
        self.post = post

    def publish(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            logger.info("pipeline event", extra={"event": event})
            body = json.dumps(event).encode()
            for url in self.webhooks:
                try:
                    self.post(url, body)
                except (urllib.error.URLError, OSError, ValueError) as error:
                    logger.warning("an event subscriber was not reached", extra={"url": url, "error": str(error)})
