"""Run control's events on the embedded engine: the state changes of real executions, in order,
each checked against the shape of AWS's documented example events ("Monitoring CodePipeline
events", CodePipeline User Guide), written out in events/codepipeline/ with our own values.

The documented examples spell the key ``detailType`` and leave some ids unquoted; EventBridge
delivers ``detail-type`` (the documented event patterns match on it), and the files use that."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepline import wiring
from stepline.adapters.local.events import LocalEventPublisher
from tests.helpers import EVENTS
from tests.unit.test_run_control_scenarios import make  # noqa: F401 - the fixture the scenarios share

DOCUMENTED = {path.stem: json.loads(path.read_text()) for path in (EVENTS / "codepipeline").glob("*.json")}


def shape(value: Any) -> Any:
    """Keys and value types, recursively: what a consumer of the event relies on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


def documented_like(event: dict[str, Any]) -> bool:
    """The event has exactly the keys and types of AWS's documented example of its level and state,
    or, for a state the examples do not show, of the level's other examples."""
    level = event["detail-type"].split()[1].lower()
    same_level = [doc for name, doc in DOCUMENTED.items() if name.startswith(level)]
    exact = DOCUMENTED.get(f"{level}-{event['detail']['state'].lower()}")
    candidates = [exact] if exact is not None else same_level
    return any(shape(event) == shape(doc) for doc in candidates)


@pytest.fixture
def published(make: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[dict[str, Any]]]:  # noqa: F811
    """The scenarios' pipelines, their events POSTed to a subscriber this test reads."""
    posted: list[dict[str, Any]] = []

    def subscriber(url: str, body: bytes) -> None:  # what a webhook subscriber receives
        assert url == "https://chat.invalid/hooks/release"
        posted.append(json.loads(body))

    publisher = LocalEventPublisher(["https://chat.invalid/hooks/release"], post=subscriber)
    monkeypatch.setattr(wiring, "event_publisher", lambda: publisher)
    return make, posted


def summary(events: list[dict[str, Any]], execution: str) -> list[str]:
    said = []
    for event in events:
        detail = event["detail"]
        if detail["execution-id"] != execution:
            continue
        where = ".".join(part for part in (detail.get("stage"), detail.get("action")) if part) or "pipeline"
        said.append(f"{where} {detail['state']}")
    return said


def test_the_events_of_one_execution_in_order_as_codepipeline_documents_them(published: Any) -> None:
    build, posted = published
    # Given a pipeline whose execution is approved and deploys
    p = build()
    p.push("first")
    p.approve(1)
    assert p.statuses() == ["Succeeded"]
    name = p.arns[0].rsplit(":", 1)[-1]
    # Then its subscriber heard every state change, once, in order
    assert summary(posted, name) == [
        "pipeline STARTED",
        "Source STARTED",
        "Source.Checkout STARTED",
        "Source.Checkout SUCCEEDED",
        "Source SUCCEEDED",
        "Approve STARTED",
        "Approve.Release STARTED",
        "Approve.Release SUCCEEDED",
        "Approve SUCCEEDED",
        "Deploy STARTED",
        "Deploy.Ship STARTED",
        "Deploy.Ship SUCCEEDED",
        "Deploy SUCCEEDED",
        "pipeline SUCCEEDED",
    ]
    assert len({event["id"] for event in posted}) == len(posted)
    # And each has the shape of AWS's documented example for its level and state
    for event in posted:
        assert event["source"] == "aws.codepipeline"
        assert documented_like(event), json.dumps(event, indent=2)
    started = posted[0]["detail"]
    assert started["execution-trigger"]["trigger-type"] == "Webhook"
    assert posted[6]["detail"]["type"] == {"owner": "AWS", "provider": "Manual", "category": "Approval", "version": "1"}


def test_superseded_executions_say_so_and_their_stale_approval_is_canceled(published: Any) -> None:
    build, posted = published
    # Given an execution waiting for approval, superseded by a newer push
    p = build()
    p.push("first")
    p.push("second")
    first = p.arns[0].rsplit(":", 1)[-1]
    # Then its last events cancel the approval and its stage, and the pipeline execution is SUPERSEDED
    assert summary(posted, first)[-3:] == ["Approve.Release CANCELED", "Approve CANCELED", "pipeline SUPERSEDED"]
