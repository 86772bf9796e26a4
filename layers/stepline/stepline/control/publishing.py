"""Publishing an execution's state changes as they appear in its history: at each stage gate
and at its end. What was published is counted in a record per execution, so each call sends
only the new ones; two publishers racing may both send one (delivery is at least once, as
EventBridge's own), and the event's id says it is the same."""

from __future__ import annotations

import hashlib

from stepline.control.events import state_changes
from stepline.observability import logger
from stepline.ports.control import EventPublisher
from stepline.ports.pipelines import RegisteredPipeline, Registry
from stepline.ports.records import Records
from stepline.ports.workflows import Workflows


def publish_new(
    entry: RegisteredPipeline, execution_arn: str, workflows: Workflows, records: Records, publisher: EventPublisher
) -> int:
    """Publish the execution's events not published yet; how many were."""
    events = state_changes(entry, workflows.describe(execution_arn), workflows.history(execution_arn))
    key = "events#" + hashlib.sha256(execution_arn.encode()).hexdigest()
    published = int(str((records.get(key) or {}).get("published", 0)))
    fresh = events[published:]
    if fresh:
        publisher.publish(fresh)
        records.put(key, {"published": len(events)})
    return len(fresh)


def publish_ended(
    execution_arn: str,
    state_machine_arn: str,
    registry: Registry,
    workflows: Workflows,
    records: Records,
    publisher: EventPublisher,
) -> int | None:
    """An execution ended (Step Functions' status change): the rest of its events, if it runs a
    pipeline (None when it does not)."""
    entry = next((e for e in registry.all() if e.state_machine_arn == state_machine_arn), None)
    if entry is None:
        return None
    published = publish_new(entry, execution_arn, workflows, records, publisher)
    logger.info("pipeline events published", extra={"pipeline": entry.name, "events": published})
    return published
