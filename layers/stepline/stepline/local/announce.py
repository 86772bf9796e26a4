"""What `stepline serve` says about executions as they go: each start (with what started it)
and each end (with its status and duration), one line each, so its terminal or log tells the
story a console page tells. Ends are heard from the engine (``on_finished``, once each); starts
come from several doors (hooks, webhooks, Release change, the outbox), so the newest executions
are looked at twice a second instead."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from stepline.status import format_duration, run_status
from stepline.triggers.starting import TRIGGER_NAMES

if TYPE_CHECKING:
    from stepline.local.runtime import LocalRuntime

POLL_SECONDS = 0.5
NEWEST = 50  # executions looked at per poll: more than start in half a second


def _trigger(input_text: Any) -> str:
    try:
        trigger = json.loads(str(input_text or "{}")).get("trigger") or {}
    except (ValueError, AttributeError):
        return ""
    kind = str(trigger.get("type") or "") if isinstance(trigger, dict) else ""
    return TRIGGER_NAMES.get(kind, kind)


class Announcer:
    """Says each execution's start and end through ``say``; ``watch`` polls until ``stop``."""

    def __init__(self, runtime: LocalRuntime, say: Callable[[str], None]) -> None:
        self.runtime, self.say = runtime, say
        self.seen = {str(e["executionArn"]) for e in self._newest()}  # what ran before: not news
        runtime.engine.on_finished(self.finished)

    def _newest(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.runtime.engine.list_executions(None, max_results=NEWEST)["executions"]
        return listed

    def _pipeline(self, machine: str) -> str:
        entry = next((e for e in self.runtime.registry.all() if e.state_machine_arn == machine), None)
        return entry.name if entry else machine.rsplit(":", 1)[-1]

    def poll(self) -> None:
        for listed in reversed(self._newest()):  # oldest first, as they started
            if str(listed["executionArn"]) not in self.seen:
                self._started(self.runtime.engine.describe_execution(str(listed["executionArn"])))

    def _started(self, described: dict[str, Any]) -> None:
        self.seen.add(str(described["executionArn"]))
        by = _trigger(described.get("input"))
        pipeline = self._pipeline(str(described["stateMachineArn"]))
        self.say(f"started {pipeline} {described['name']}" + (f" ({by})" if by else ""))

    def finished(self, described: dict[str, Any]) -> None:
        if str(described["executionArn"]) not in self.seen:  # it ended before a poll saw it start
            self._started(described)
        started, stopped = described.get("startDate"), described.get("stopDate")
        took = ""
        if isinstance(started, datetime) and isinstance(stopped, datetime):
            took = f" in {format_duration((stopped - started).total_seconds())}"
        pipeline = self._pipeline(str(described["stateMachineArn"]))
        self.say(f"{pipeline} {described['name']} {run_status(str(described['status']))}{took}")

    def watch(self, stop: threading.Event) -> None:
        while not stop.wait(POLL_SECONDS):
            self.poll()
