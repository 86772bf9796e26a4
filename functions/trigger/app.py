"""CodeCommit repository and pull request changes, S3 object versions, ECR image pushes
(EventBridge), schedules (EventBridge Scheduler) and the minute's poll of polled sources start
the registered pipelines that match them, once per event."""

from typing import Any

from stepline import wiring
from stepline.triggers.events import handle_event
from stepline.triggers.polling import poll


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    def polled() -> Any:
        return poll(wiring.registry(), wiring.workflows(), wiring.source_heads(), wiring.records())

    return handle_event(event, wiring.registry(), wiring.workflows(), wiring.changed_paths, polled).as_json()
