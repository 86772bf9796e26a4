"""CloudWatch alarms' states, for run control's CloudWatchAlarm rule (DescribeAlarms)."""

from __future__ import annotations

from typing import Any


class CloudWatchAlarms:
    def __init__(self, client: Any) -> None:
        self.client = client

    def states(self, names: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
            answer = self.client.describe_alarms(
                AlarmNames=names[start : start + 100], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
            for alarm in [*answer.get("MetricAlarms", []), *answer.get("CompositeAlarms", [])]:
                found[alarm["AlarmName"]] = alarm["StateValue"]
        return found
