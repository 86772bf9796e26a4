"""Run control's events to EventBridge's default bus (PutEvents, ten entries a call).

EventBridge refuses PutEvents with a source beginning ``aws.`` (only AWS services emit those),
so Stepline's events carry the source ``stepline.codepipeline`` and everything else as
CodePipeline sends it: detail-type, detail, resources, time. A rule matching CodePipeline's
events matches Stepline's once its source list also names ``stepline.codepipeline``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from stepline.actions.errors import TransientActionError

SOURCE = "stepline.codepipeline"
BATCH = 10  # PutEvents' limit of entries per call


class EventBridgePublisher:
    def __init__(self, client: Any, bus: str = "default") -> None:
        self.client = client
        self.bus = bus

    def publish(self, events: list[dict[str, Any]]) -> None:
        for start in range(0, len(events), BATCH):
            entries = [self._entry(event) for event in events[start : start + BATCH]]
            answer = self.client.put_events(Entries=entries)
            if answer.get("FailedEntryCount"):
                failed = [e.get("ErrorCode", "") for e in answer.get("Entries", []) if e.get("ErrorCode")]
                raise TransientActionError(
                    f"EventBridge refused {len(failed)} event(s): {', '.join(sorted(set(failed)))}"
                )

    def _entry(self, event: dict[str, Any]) -> dict[str, Any]:
        return {
            "Source": SOURCE,
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event["resources"],
            "Time": datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S%z"),
            "EventBusName": self.bus,
        }
