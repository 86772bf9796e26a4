"""A worker for the crash test: run a batch of executions on an engine over one SQLite file.

``python crash_worker.py DB COUNT`` starts executions exec-0 … exec-COUNT-1 (idempotently, so
a restarted worker starts none twice), answers callbacks the way an outside system would, and
runs until every execution has finished. The test kills it at random moments and restarts it.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from typing import Any

from stepline.engine import Engine, Functions, ManualClock, Store, TaskTimedOut

DAY = 24 * 3600
LAMBDA = "arn:aws:states:::lambda:invoke"

DEFINITION: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Pass",
            "Parameters": {"n.$": "$.n", "items.$": "States.ArrayRange(1, 3, 1)"},
            "Next": "Fan out",
        },
        "Fan out": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Square",
                    "States": {
                        "Square": {
                            "Type": "Task",
                            "Resource": LAMBDA,
                            "Parameters": {"FunctionName": "work", "Payload": {"op": "square", "n.$": "$.n"}},
                            "OutputPath": "$.Payload",
                            "Next": "Sleep a day",
                        },
                        "Sleep a day": {"Type": "Wait", "Seconds": DAY, "Next": "Add ten"},
                        "Add ten": {
                            "Type": "Task",
                            "Resource": LAMBDA,
                            "Parameters": {"FunctionName": "work", "Payload": {"op": "add10", "n.$": "$.value"}},
                            "OutputPath": "$.Payload",
                            "End": True,
                        },
                    },
                },
                {
                    "StartAt": "Approve",
                    "States": {
                        "Approve": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                            "Parameters": {
                                "FunctionName": "approve",
                                "Payload": {"token.$": "$$.Task.Token", "n.$": "$.n"},
                            },
                            "ResultPath": "$.approval",
                            "Next": "Each item",
                        },
                        "Each item": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "MaxConcurrency": 2,
                            "ItemSelector": {"n.$": "$.n", "item.$": "$$.Map.Item.Value"},
                            "ItemProcessor": {
                                "StartAt": "Multiply",
                                "States": {
                                    "Multiply": {
                                        "Type": "Task",
                                        "Resource": LAMBDA,
                                        "Parameters": {
                                            "FunctionName": "work",
                                            "Payload": {"op": "times", "n.$": "$.n", "m.$": "$.item"},
                                        },
                                        "OutputPath": "$.Payload.value",
                                        "End": True,
                                    }
                                },
                            },
                            "ResultPath": "$.products",
                            "End": True,
                        },
                    },
                },
            ],
            "Next": "Check",
        },
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$[1].approval.approved", "BooleanEquals": True, "Next": "Done"}],
            "Default": "Rejected",
        },
        "Rejected": {"Type": "Fail", "Error": "Rejected"},
        "Done": {
            "Type": "Pass",
            "Parameters": {"total.$": "$[0].value", "products.$": "$[1].products", "by.$": "$[1].approval.by"},
            "End": True,
        },
    },
}


def work(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(0.001)  # a little real work, so kills land between transitions and inside calls
    if event["op"] == "square":
        return {"value": event["n"] * event["n"]}
    if event["op"] == "add10":
        return {"value": event["n"] + 10}
    return {"value": event["n"] * event["m"]}


def decision(n: int) -> dict[str, Any]:
    return {"approved": True, "by": f"reviewer-{n % 3}"}


def make_engine(store: Store, clock: ManualClock) -> Engine:
    engine = Engine(store=store, clock=clock, functions=Functions({"work": work}))

    def approve(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # The decision arrives a moment later from elsewhere, as an approval link would.
        def answer() -> None:
            time.sleep(0.002)
            # Already answered by an earlier attempt is fine: delivery is at least once.
            with contextlib.suppress(TaskTimedOut):
                engine.send_task_success(event["token"], json.dumps(decision(event["n"])))

        threading.Thread(target=answer, daemon=True).start()
        return {}

    engine.functions.register("approve", approve)
    return engine


def answer_waiting(engine: Engine) -> None:
    """After a restart, decisions still owed are sent again, as a retrying sender would."""
    rows = engine.store.query("SELECT token, data FROM frames WHERE active = 1 AND phase = 'waiting_token'")
    for token, data in rows:
        payload = json.loads(data)["parameters"]["Payload"]
        with contextlib.suppress(TaskTimedOut):
            engine.send_task_success(token, json.dumps(decision(payload["n"])))


def start_all(engine: Engine, count: int) -> str:
    machine = engine.create_state_machine("crash", DEFINITION)["stateMachineArn"]
    for index in range(count):
        engine.start_execution(machine, f"exec-{index}", json.dumps({"n": index}))
    return str(machine)


def main(path: str, count: int) -> int:
    engine = make_engine(Store(path), ManualClock())
    answer_waiting(engine)
    machine = start_all(engine, count)
    print("running", flush=True)  # the test kills only after this: tables exist, executions started

    def finished() -> bool:
        return not engine.list_executions(machine, status_filter="RUNNING")["executions"]

    engine.run(until=finished, skip_waits=True, block=True, timeout=120)
    return 0 if finished() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
