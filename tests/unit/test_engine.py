"""The embedded engine on its own: time driven by a ManualClock, state in SQLite, no sleeping."""

from __future__ import annotations

import itertools
import json
import random
import threading
from pathlib import Path
from typing import Any

import pytest

from stepline.engine import (
    Engine,
    ExecutionAlreadyExists,
    Functions,
    InvalidDefinition,
    InvalidOutput,
    ManualClock,
    Store,
    TaskDoesNotExist,
    TaskTimedOut,
)
from stepline.engine.clock import iso
from stepline.engine.definition import StateType, parse_definition
from stepline.engine.model import StateKind
from stepline.engine.states import KINDS, pass_
from stepline.engine.store import StoreFull

DAY = 24 * 3600
CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"


def machine(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def callback_task(**extra: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": CALLBACK,
        "Parameters": {"FunctionName": "park", "Payload": {"token.$": "$$.Task.Token"}},
        "End": True,
        **extra,
    }


class Parked:
    """A callback function that keeps the tokens it is given, for the test to answer."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.tokens.append(event["token"])
        return {}


def engine_with(clock: ManualClock | None = None, store: Store | None = None, **functions: Any) -> Engine:
    return Engine(store=store, clock=clock or ManualClock(), functions=Functions(functions))


def start(engine: Engine, definition: dict[str, Any], given: Any = None, name: str = "run") -> str:
    arn = engine.create_state_machine("m", definition)["stateMachineArn"]
    return str(engine.start_execution(arn, name, json.dumps(given if given is not None else {}))["executionArn"])


def history_types(engine: Engine, execution: str) -> list[str]:
    return [event["type"] for event in engine.get_execution_history(execution)["events"]]


# --- waits and the clock ------------------------------------------------------------------


def test_a_wait_of_days_passes_with_the_clock_not_with_sleep() -> None:
    clock = ManualClock()
    engine = engine_with(clock)
    execution = start(engine, machine(W={"Type": "Wait", "Seconds": 3 * DAY, "End": True}), {"a": 1})
    engine.run()
    assert engine.describe_execution(execution)["status"] == "RUNNING"
    clock.advance(3 * DAY - 1)
    engine.run()
    assert engine.describe_execution(execution)["status"] == "RUNNING"
    clock.advance(1)
    engine.run()
    described = engine.describe_execution(execution)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"a": 1})


def test_an_execution_past_its_machines_timeout_seconds_times_out_as_on_aws() -> None:
    # Given a machine of TimeoutSeconds 3 whose one state waits 25 seconds (AWS's own example of it)
    definition = {"TimeoutSeconds": 3, **machine(W={"Type": "Wait", "Seconds": 25, "End": True})}
    clock = ManualClock()
    engine = engine_with(clock)
    execution = start(engine, definition)
    # When 2 seconds pass, then 3
    clock.advance(2)
    engine.run()
    assert engine.describe_execution(execution)["status"] == "RUNNING"
    clock.advance(1)
    engine.run()
    # Then it is TIMED_OUT with no error or cause, States.Timeout in its last event only
    described = engine.describe_execution(execution)
    assert described["status"] == "TIMED_OUT"
    assert "error" not in described
    assert "cause" not in described
    last = engine.get_execution_history(execution)["events"][-1]
    assert (last["type"], last["executionTimedOutEventDetails"]) == ("ExecutionTimedOut", {"error": "States.Timeout"})
    assert engine.list_executions(status_filter="TIMED_OUT")["executions"][0]["executionArn"] == execution


def test_an_executions_deadline_survives_a_restart_and_spares_one_that_ends_in_time(tmp_path: Path) -> None:
    # Given an execution of TimeoutSeconds 60 waiting for a callback, and one that ends in time
    clock = ManualClock()
    parked = Parked()
    first = engine_with(clock, Store(str(tmp_path / "engine.db")), park=parked)
    waiting = start(first, {"TimeoutSeconds": 60, **machine(T=callback_task())}, name="waiting")
    arn = first.create_state_machine("quick", {"TimeoutSeconds": 60, **machine(P={"Type": "Pass", "End": True})})
    quick = first.start_execution(arn["stateMachineArn"], "quick")["executionArn"]
    first.run()
    # When the engine is made again on the same database and a minute passes
    again = engine_with(clock, Store(str(tmp_path / "engine.db")), park=parked)
    clock.advance(61)
    again.run()
    # Then the waiting one timed out, and the one that had ended stays as it ended
    assert again.describe_execution(waiting)["status"] == "TIMED_OUT"
    assert again.describe_execution(quick)["status"] == "SUCCEEDED"


@pytest.mark.parametrize("timeout", [0, 100_000_000, "60", True])
def test_a_machines_timeout_seconds_out_of_range_is_refused(timeout: Any) -> None:
    definition = {"TimeoutSeconds": timeout, **machine(P={"Type": "Pass", "End": True})}
    with pytest.raises(InvalidDefinition, match="the state machine: TimeoutSeconds must be a whole number of seconds"):
        engine_with().create_state_machine("m", definition)


def test_a_wait_survives_a_restart(tmp_path: Path) -> None:
    # Given an execution waiting two days in a store on disk
    clock = ManualClock()
    first = engine_with(clock, Store(str(tmp_path / "engine.db")))
    execution = start(
        first,
        machine(
            W={"Type": "Wait", "Seconds": 2 * DAY, "Next": "Done"}, Done={"Type": "Pass", "Result": "done", "End": True}
        ),
    )
    first.run()
    first.store.close()
    # When a new engine opens the same store after the two days
    clock.advance(2 * DAY)
    second = engine_with(clock, Store(str(tmp_path / "engine.db")))
    second.run()
    # Then the execution continues where it was and finishes
    described = second.describe_execution(execution)
    assert (described["status"], described["output"]) == ("SUCCEEDED", '"done"')
    assert history_types(second, execution).count("WaitStateEntered") == 1


def test_skip_waits_moves_a_manual_clock_to_each_timer() -> None:
    clock = ManualClock()
    engine = engine_with(clock)
    began = clock.now()
    execution = start(
        engine, machine(W={"Type": "Wait", "Timestamp": iso(began + 10 * DAY).replace(".000", ""), "End": True})
    )
    assert engine.run_until_done(execution, skip_waits=True)["status"] == "SUCCEEDED"
    assert clock.now() == began + 10 * DAY


# --- tasks: timeouts, heartbeats, callbacks ---------------------------------------------------


def test_a_callback_that_never_answers_times_out() -> None:
    clock, parked = ManualClock(), Parked()
    engine = engine_with(clock, park=parked)
    execution = start(engine, machine(T=callback_task(TimeoutSeconds=300)))
    engine.run()
    clock.advance(299)
    engine.run()
    assert engine.describe_execution(execution)["status"] == "RUNNING"
    clock.advance(1)
    engine.run()
    described = engine.describe_execution(execution)
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    with pytest.raises(TaskTimedOut):
        engine.send_task_success(parked.tokens[0], "{}")


def test_heartbeats_keep_a_task_alive_until_they_stop() -> None:
    clock, parked = ManualClock(), Parked()
    engine = engine_with(clock, park=parked)
    execution = start(engine, machine(T=callback_task(TimeoutSeconds=3600, HeartbeatSeconds=10)))
    engine.run()
    for _ in range(3):
        clock.advance(8)
        engine.send_task_heartbeat(parked.tokens[0])
        engine.run()
        assert engine.describe_execution(execution)["status"] == "RUNNING"
    clock.advance(10)
    engine.run()
    assert engine.describe_execution(execution)["error"] == "States.HeartbeatTimeout"


def test_callback_answers_are_checked() -> None:
    parked = Parked()
    engine = engine_with(park=parked)
    execution = start(engine, machine(T=callback_task(ResultPath="$.answer")), {"q": 1})
    engine.run()
    with pytest.raises(TaskDoesNotExist):
        engine.send_task_success("no-such-token", "{}")
    with pytest.raises(InvalidOutput):
        engine.send_task_success(parked.tokens[0], "not json")
    engine.send_task_success(parked.tokens[0], '{"ok": true}')
    with pytest.raises(TaskTimedOut):
        engine.send_task_success(parked.tokens[0], "{}")  # answered once already
    assert json.loads(engine.run_until_done(execution)["output"]) == {"q": 1, "answer": {"ok": True}}


def test_an_answer_given_while_the_handler_still_runs_is_kept() -> None:
    engine = engine_with()

    def answers_at_once(event: dict[str, Any], context: Any) -> dict[str, Any]:
        engine.send_task_success(event["token"], '"built"')
        return {}

    engine.functions.register("park", answers_at_once)
    execution = start(engine, machine(T=callback_task()))
    assert engine.run_until_done(execution)["output"] == '"built"'
    assert history_types(engine, execution)[-4:] == [
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


def test_retry_back_off_follows_interval_rate_and_cap() -> None:
    clock = ManualClock()
    calls: list[float] = []

    def failing(event: Any, context: Any) -> Any:
        calls.append(clock.now())
        raise RuntimeError("still down")

    engine = engine_with(clock, down=failing)
    retry = [
        {
            "ErrorEquals": ["RuntimeError"],
            "IntervalSeconds": 2,
            "BackoffRate": 2,
            "MaxAttempts": 4,
            "MaxDelaySeconds": 5,
        }
    ]
    task = {"Type": "Task", "Resource": "arn:aws:lambda:local:000000000000:function:down", "Retry": retry, "End": True}
    execution = start(engine, machine(T=task))
    described = engine.run_until_done(execution, skip_waits=True)
    assert described["error"] == "RuntimeError"
    assert [round(t - calls[0]) for t in calls] == [0, 2, 6, 11, 16]  # waits 2, 4, 5 (capped), 5


def test_full_jitter_waits_at_most_the_computed_delay() -> None:
    clock = ManualClock()
    calls: list[float] = []

    def failing(event: Any, context: Any) -> Any:
        calls.append(clock.now())
        raise RuntimeError("down")

    engine = Engine(clock=clock, functions=Functions({"down": failing}), jitter=random.Random(7))
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": 3, "JitterStrategy": "FULL"}]
    execution = start(
        engine,
        machine(
            T={
                "Type": "Task",
                "Resource": "arn:aws:lambda:local:000000000000:function:down",
                "Retry": retry,
                "End": True,
            }
        ),
    )
    engine.run_until_done(execution, skip_waits=True)
    waits = [b - a for a, b in itertools.pairwise(calls)]
    assert len(waits) == 3
    assert all(0 <= wait <= bound for wait, bound in zip(waits, [10, 20, 40], strict=True))
    assert waits != [10, 20, 40]


def test_the_lambda_context_counts_down_to_the_task_timeout() -> None:
    clock = ManualClock()
    seen: list[int] = []
    engine = engine_with(clock, look=lambda event, context: seen.append(context.get_remaining_time_in_millis()))
    execution = start(
        engine,
        machine(
            T={
                "Type": "Task",
                "Resource": "arn:aws:lambda:local:000000000000:function:look",
                "TimeoutSeconds": 30,
                "End": True,
            }
        ),
    )
    engine.run_until_done(execution)
    assert seen == [30_000]


# --- the API ----------------------------------------------------------------------------------


def test_starting_with_the_same_name_is_idempotent_for_the_same_input() -> None:
    engine = engine_with()
    arn = engine.create_state_machine("m", machine(P={"Type": "Pass", "End": True}))["stateMachineArn"]
    first = engine.start_execution(arn, "deploy-3f2a9c1", '{"commit": "3f2a9c1"}')
    again = engine.start_execution(arn, "deploy-3f2a9c1", '{"commit": "3f2a9c1"}')
    assert first["executionArn"] == again["executionArn"]
    assert len(engine.list_executions(arn)["executions"]) == 1
    with pytest.raises(ExecutionAlreadyExists):
        engine.start_execution(arn, "deploy-3f2a9c1", '{"commit": "other"}')


def test_stop_aborts_and_invalidates_tokens() -> None:
    parked = Parked()
    engine = engine_with(park=parked)
    execution = start(engine, machine(T=callback_task()))
    engine.run()
    engine.stop_execution(execution, error="Cancelled", cause="superseded")
    described = engine.describe_execution(execution)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Cancelled", "superseded")
    assert history_types(engine, execution)[-1] == "ExecutionAborted"
    with pytest.raises(TaskTimedOut):
        engine.send_task_success(parked.tokens[0], "{}")


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            "arn:aws:states:::dynamodb:putItem",
            "state 'T': Resource 'arn:aws:states:::dynamodb:putItem' is not one the local engine runs",
        ),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:missing",
            "state 'T': no local function 'missing' (registered: none)",
        ),
    ],
)
def test_an_unrunnable_resource_is_refused_at_start_naming_the_state(resource: str, message: str) -> None:
    engine = engine_with()
    arn = engine.create_state_machine("m", machine(T={"Type": "Task", "Resource": resource, "End": True}))[
        "stateMachineArn"
    ]
    with pytest.raises(InvalidDefinition) as caught:
        engine.start_execution(arn, "x")
    assert message in str(caught.value)
    assert engine.list_executions(arn)["executions"] == []


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        ("{not json", "the definition is not valid JSON: line 1, column 2"),
        ({"States": {"A": {"Type": "Succeed"}}}, "the state machine: StartAt is missing or not a string"),
        (machine(A={"Type": "Pass", "Next": "B"}), "state 'A': Next 'B' is not a state in the state machine"),
        (machine(A={"Type": "Sleep", "End": True}), "state 'A': Type 'Sleep' is not one of"),
        (
            machine(A={"Type": "Pass", "InputPath": "items", "End": True}),
            "state 'A': InputPath: 'items' is not a path: paths start with $",
        ),
        (machine(A={"Type": "Pass", "Parameters": {"x.$": "$.a[?(@.b >"}, "End": True}), "state 'A': Parameters.x.$"),
        (
            machine(A={"Type": "Pass", "Parameters": {"x.$": "States.Nope(1)"}, "End": True}),
            "'States.Nope' is not an intrinsic function",
        ),
        (
            machine(A={"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": True}),
            "state 'A': needs exactly one of Seconds",
        ),
        (
            machine(A={"Type": "Pass", "ResultPath": "$.a[0]", "End": True}),
            "state 'A': ResultPath: '$.a[0]' is not a reference path",
        ),
        (
            machine(A={"Type": "Task", "Resource": "r", "End": True, "Retry": [{"ErrorEquals": ["States.ALL", "X"]}]}),
            "state 'A': Retry[0]: States.ALL must appear alone",
        ),
        (
            machine(A={"Type": "Choice", "Choices": [{"Variable": "$.a", "Next": "A"}]}),
            "state 'A': Choices[0]: needs exactly one comparison operator",
        ),
        (
            machine(A={"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericEquals": "1", "Next": "A"}]}),
            'NumericEquals needs a Numeric value, not "1"',
        ),
        (
            machine(P={"Type": "Parallel", "Branches": [machine(P={"Type": "Succeed"})], "End": True}),
            "state 'P': the name is used twice (the state machine and branch 0 of state 'P')",
        ),
    ],
)
def test_definition_errors_name_the_state_and_field(definition: Any, problem: str) -> None:
    with pytest.raises(InvalidDefinition) as caught:
        engine_with().create_state_machine("m", definition)
    assert problem in str(caught.value)


def test_each_state_type_is_its_own_class_and_has_its_behaviour() -> None:
    # Given a definition with a state of every type
    every_type = machine(
        Pass={"Type": "Pass", "Next": "Choice"},
        Choice={
            "Type": "Choice",
            "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Fail"}],
            "Default": "Wait",
        },
        Wait={"Type": "Wait", "Seconds": 1, "Next": "Task"},
        Task={
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f"},
            "Next": "Parallel",
        },
        Parallel={"Type": "Parallel", "Branches": [machine(Succeed={"Type": "Succeed"})], "Next": "Map"},
        Map={"Type": "Map", "ItemProcessor": machine(Item={"Type": "Pass", "End": True}), "End": True},
        Fail={"Type": "Fail", "Error": "Stopped"},
    )
    # When it is parsed
    parsed = parse_definition(every_type)
    states = {name: state for scope in parsed.scopes.values() for name, state in scope.states.items()}
    # Then each state is an instance of its own type's class, which has only that type's fields
    assert {name: type(state).__name__ for name, state in states.items() if name != "Item"} == {
        "Pass": "PassState",
        "Choice": "ChoiceState",
        "Wait": "WaitState",
        "Task": "TaskState",
        "Parallel": "ParallelState",
        "Map": "MapState",
        "Fail": "FailState",
        "Succeed": "SucceedState",
    }
    assert all(state.type == state.raw["Type"] for state in states.values())
    assert not hasattr(states["Pass"], "resource")
    assert not hasattr(states["Choice"], "retry")
    assert not hasattr(states["Fail"], "next")
    assert not hasattr(states["Wait"], "result_path")
    # And the engine knows what every type does, with the hooks the types that need them have
    assert set(KINDS) == set(StateType)
    assert KINDS[StateType.PARALLEL].child_ended is not None
    assert KINDS[StateType.MAP].child_ended is not None
    assert KINDS[StateType.TASK].timed_out is not None
    assert KINDS[StateType.TASK].nested_ended is not None


# --- Parallel, Map and nested executions ------------------------------------------------------


def test_map_respects_max_concurrency() -> None:
    parked = Parked()
    engine = engine_with(park=parked)
    processor = machine(
        T={**callback_task(), "Parameters": {"FunctionName": "park", "Payload": {"token.$": "$$.Task.Token"}}}
    )
    execution = start(
        engine,
        machine(M={"Type": "Map", "MaxConcurrency": 2, "ItemProcessor": processor, "End": True}),
        [1, 2, 3, 4, 5],
    )
    engine.run()
    assert len(parked.tokens) == 2
    engine.send_task_success(parked.tokens[0], '"a"')
    engine.run()
    assert len(parked.tokens) == 3
    for token in parked.tokens[1:]:
        engine.send_task_success(token, '"b"')
    engine.run()
    for token in parked.tokens[3:]:
        engine.send_task_success(token, '"c"')
    described = engine.run_until_done(execution)
    assert json.loads(described["output"]) == ["a", "b", "b", "c", "c"]


def test_a_failed_branch_cancels_its_siblings_waiting_tokens() -> None:
    parked = Parked()
    engine = engine_with(park=parked)
    branches = [machine(Wait1=callback_task()), machine(Boom={"Type": "Fail", "Error": "Boom"})]
    execution = start(engine, machine(P={"Type": "Parallel", "Branches": branches, "End": True}))
    engine.run()
    assert engine.describe_execution(execution)["error"] == "Boom"
    with pytest.raises(TaskTimedOut):
        engine.send_task_success(parked.tokens[0], "{}")


@pytest.mark.parametrize(("suffix", "output"), [(".sync:2", {"doubled": 8}), (".sync", '{"doubled":8}')])
def test_a_nested_execution_runs_on_the_same_engine(suffix: str, output: Any) -> None:
    engine = engine_with()
    child = engine.create_state_machine(
        "child", machine(D={"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": True})
    )
    parent = machine(
        Run={
            "Type": "Task",
            "Resource": f"arn:aws:states:::states:startExecution{suffix}",
            "Parameters": {"StateMachineArn": child["stateMachineArn"], "Input": {"n.$": "$.n"}},
            "ResultSelector": {"output.$": "$.Output", "status.$": "$.Status"},
            "End": True,
        }
    )
    execution = start(engine, parent, {"n": 4})
    described = engine.run_until_done(execution)
    assert json.loads(described["output"]) == {"output": output, "status": "SUCCEEDED"}
    children = engine.list_executions(child["stateMachineArn"])["executions"]
    assert [c["status"] for c in children] == ["SUCCEEDED"]


def test_a_failed_nested_execution_fails_the_task() -> None:
    engine = engine_with()
    child = engine.create_state_machine("child", machine(F={"Type": "Fail", "Error": "ChildBroke"}))["stateMachineArn"]
    parent = machine(
        Run={
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": child},
            "End": True,
        }
    )
    described = engine.run_until_done(start(engine, parent))
    assert described["error"] == "States.TaskFailed"
    assert json.loads(described["cause"])["error"] == "ChildBroke"


def test_workers_run_parallel_branches_at_the_same_time() -> None:
    # Each branch blocks until the other has started: with one branch at a time this would fail.
    meeting = threading.Barrier(2, timeout=10)

    def meet(event: Any, context: Any) -> str:
        meeting.wait()
        return "met"

    engine = Engine(clock=ManualClock(), functions=Functions({"meet": meet}), workers=2)
    task = {"Type": "Task", "Resource": "arn:aws:lambda:local:000000000000:function:meet", "End": True}
    definition = machine(P={"Type": "Parallel", "Branches": [machine(A=task), machine(B=task)], "End": True})
    described = engine.run_until_done(start(engine, definition), timeout=20)
    engine.close()
    assert json.loads(described["output"]) == ["met", "met"]


# --- limits and history -------------------------------------------------------------------


def test_a_result_over_256_kib_is_data_limit_exceeded_which_states_all_catches() -> None:
    # Given a function whose result is over Step Functions' 256 KiB, and a catcher for States.ALL
    engine = engine_with(big=lambda event, context: "x" * (256 * 1024 + 1))
    task = {
        "Type": "Task",
        "Resource": "arn:aws:lambda:local:000000000000:function:big",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
        "End": True,
    }
    # When it runs
    described = engine.run_until_done(start(engine, machine(T=task, Caught={"Type": "Pass", "End": True})))
    # Then the task fails with States.DataLimitExceeded and the catcher catches it (recorded on AWS)
    assert json.loads(described["output"])["Error"] == "States.DataLimitExceeded"


def test_a_state_output_over_256_kib_fails_the_execution() -> None:
    # Given a Pass whose output would be over 256 KiB
    engine = engine_with()
    big = {"Type": "Pass", "Parameters": {"a.$": "$.s", "b.$": "$.s"}, "End": True}
    # When it runs
    described = engine.run_until_done(start(engine, machine(P=big), {"s": "x" * 140_000}))
    # Then the execution fails with States.DataLimitExceeded
    assert described["error"] == "States.DataLimitExceeded"


def test_history_has_step_functions_event_shapes_and_links() -> None:
    engine = engine_with(echo=lambda event, context: event)
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "echo", "Payload.$": "$"},
        "OutputPath": "$.Payload",
        "End": True,
    }
    execution = start(engine, machine(T=task), {"x": 1})
    engine.run_until_done(execution)
    events = engine.get_execution_history(execution)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == list(range(1, 8))
    assert [e["previousEventId"] for e in events] == [0, 1, 2, 3, 4, 5, 6]
    scheduled = events[2]["taskScheduledEventDetails"]
    assert (scheduled["resourceType"], scheduled["resource"], json.loads(scheduled["parameters"])) == (
        "lambda",
        "invoke",
        {"FunctionName": "echo", "Payload": {"x": 1}},
    )
    assert json.loads(events[-1]["executionSucceededEventDetails"]["output"]) == {"x": 1}
    assert events[1]["stateEnteredEventDetails"]["name"] == "T"
    assert engine.get_execution_history(execution, reverse_order=True)["events"][0]["type"] == "ExecutionSucceeded"


def test_the_context_object() -> None:
    clock = ManualClock(1_767_225_600.0)
    engine = engine_with(clock)
    state = {
        "Type": "Pass",
        "Parameters": {
            "name.$": "$$.Execution.Name",
            "start.$": "$$.Execution.StartTime",
            "state.$": "$$.State.Name",
            "machine.$": "$$.StateMachine.Name",
        },
        "End": True,
    }
    described = engine.run_until_done(start(engine, machine(Look=state), name="exec-7"))
    assert json.loads(described["output"]) == {
        "name": "exec-7",
        "start": "2026-01-01T00:00:00.000Z",
        "state": "Look",
        "machine": "m",
    }


def test_an_engine_fault_fails_only_its_execution_and_leaves_the_rest_consistent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given two executions waiting to step in one commit group, and a bug that strikes one state once
    engine = engine_with(store=Store(str(tmp_path / "engine.db")))
    hold = {"Type": "Wait", "Seconds": 1}
    healthy = start(
        engine,
        machine(
            Hold={**hold, "Next": "A"}, A={"Type": "Pass", "Next": "B"}, B={"Type": "Pass", "Result": "ok", "End": True}
        ),
        name="healthy",
    )
    buggy = machine(Hold={**hold, "Next": "Bug"}, Bug={"Type": "Pass", "End": True})
    doomed = engine.start_execution(engine.create_state_machine("buggy", buggy)["stateMachineArn"], "doomed")[
        "executionArn"
    ]

    def sometimes_broken(active: Any, execution: Any, frame: Any, state: Any, raw: Any) -> None:
        if state.name == "Bug":
            raise KeyError("simulated engine bug")
        pass_.enter(active, execution, frame, state, raw)

    monkeypatch.setitem(KINDS, StateType.PASS, StateKind(sometimes_broken))
    # When the engine runs them, their waits over together
    engine.run(skip_waits=True)
    # Then the faulty execution fails with a clear States.Runtime, and the other one finishes
    failed = engine.describe_execution(doomed)
    assert (failed["status"], failed["error"]) == ("FAILED", "States.Runtime")
    assert "internal engine error in state 'Bug': KeyError" in failed["cause"]
    assert engine.describe_execution(healthy)["output"] == '"ok"'
    # And what is on disk agrees: a fresh engine finds nothing left to do
    fresh = engine_with(store=Store(str(tmp_path / "engine.db")))
    assert fresh.awaiting_outside()
    assert fresh.store.query("SELECT count(*) FROM frames WHERE active = 1") == [(0,)]


def test_an_engine_fault_met_by_start_execution_running_ahead_fails_that_execution_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given an execution paused at a callback, and a bug that strikes a state a new execution
    # meets before its first pause (StartExecution steps it there before it commits)
    engine = engine_with(store=Store(str(tmp_path / "engine.db")), park=lambda event, context: None)
    parked = start(engine, machine(Park=callback_task()), name="parked")
    engine.run()

    def broken(active: Any, execution: Any, frame: Any, state: Any, raw: Any) -> None:
        raise KeyError("simulated engine bug")

    monkeypatch.setitem(KINDS, StateType.PASS, StateKind(broken))
    # When the new execution starts
    arn = engine.create_state_machine("buggy", machine(Bug={"Type": "Pass", "End": True}))["stateMachineArn"]
    started = engine.start_execution(arn, "doomed")
    # Then StartExecution answers, and the execution it started has failed with a clear States.Runtime
    failed = engine.describe_execution(started["executionArn"])
    assert (failed["status"], failed["error"]) == ("FAILED", "States.Runtime")
    assert "internal engine error in state 'Bug': KeyError" in failed["cause"]
    assert history_types(engine, started["executionArn"]) == ["ExecutionStarted", "ExecutionFailed"]
    # And the paused one still waits for its answer, on disk as in memory
    assert engine.describe_execution(parked)["status"] == "RUNNING"
    fresh = engine_with(store=Store(str(tmp_path / "engine.db")), park=lambda event, context: None)
    assert fresh.store.query("SELECT execution_arn FROM frames WHERE active = 1") == [(parked,)]


# --- the history quota and a full disk ------------------------------------------------------


def counting_loop(rounds: int) -> dict[str, Any]:
    """4 events a round (Pass and Choice, entered and exited), plus ExecutionStarted, the
    Succeed state's two and ExecutionSucceeded: 4 × rounds + 4 events in all."""
    return machine(
        Count={"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Check"},
        Check={
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericEquals": rounds, "Next": "Done"}],
            "Default": "Count",
        },
        Done={"Type": "Succeed"},
    )


def test_an_endless_loop_fails_at_the_25000th_event_with_aws_error() -> None:
    # Given a loop that never ends (the Choice never matches)
    engine = engine_with()
    execution = start(engine, counting_loop(-1), {"n": 0})
    # When the engine runs it
    engine.run()
    # Then event 25,000 is the failure, with the error and cause AWS reports
    described = engine.describe_execution(execution)
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert described["cause"] == "The execution reached the maximum number of history events (25000)."
    events = engine.get_execution_history(execution)["events"]
    assert len(events) == 25_000
    assert [events[-1]["id"], events[-1]["type"], events[-1]["previousEventId"]] == [25_000, "ExecutionFailed", 24_999]
    assert events[-1]["executionFailedEventDetails"] == {"error": "States.Runtime", "cause": described["cause"]}
    assert events[-2]["type"] in {"PassStateExited", "ChoiceStateExited", "PassStateEntered", "ChoiceStateEntered"}
    assert engine.store.query("SELECT count(*) FROM events WHERE execution_arn = ?", (execution,)) == [(25_000,)]


def test_an_execution_whose_25000th_event_is_its_success_succeeds() -> None:
    # Given loops whose histories are exactly 25,000 events, and one round longer
    engine = engine_with()
    exact = start(engine, counting_loop(6_249), {"n": 0}, name="exact")
    over = start(engine, counting_loop(6_250), {"n": 0}, name="over")
    # When both run
    engine.run()
    # Then the first succeeds with ExecutionSucceeded as event 25,000, the second fails there
    assert engine.describe_execution(exact)["status"] == "SUCCEEDED"
    assert history_types(engine, exact)[24_999:] == ["ExecutionSucceeded"]
    assert engine.describe_execution(over)["error"] == "States.Runtime"
    assert len(history_types(engine, over)) == 25_000


def test_past_the_quota_no_task_is_called_without_its_start_in_the_history() -> None:
    # Given a loop of Lambda tasks (5 events each) that counts its calls
    calls: list[int] = []

    def count(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event["n"])
        return {"n": event["n"] + 1}

    engine = engine_with(count=count)
    definition = machine(
        Call={"Type": "Task", "Resource": "arn:aws:lambda:local:000000000000:function:count", "Next": "Call"}
    )
    execution = start(engine, definition, {"n": 0})
    # When it runs into the quota
    engine.run()
    # Then every call made has its TaskStarted in the history (the last call's result is what
    # event 25,000 would have been), and nothing more runs
    types = history_types(engine, execution)
    assert (len(types), types[-1]) == (25_000, "ExecutionFailed")
    assert len(calls) == types.count("TaskStarted") == types.count("TaskSucceeded") + 1
    assert engine.awaiting_outside()


def test_a_full_disk_stops_the_engine_without_failing_or_losing_an_execution(tmp_path: Path) -> None:
    # Given an execution waiting to run ten states, each adding 4 KiB to its state
    definition = machine(
        Hold={"Type": "Wait", "Seconds": 1, "Next": "S0"},
        **{
            f"S{index}": {"Type": "Pass", "Result": "x" * 4096, "ResultPath": f"$.s{index}", "Next": f"S{index + 1}"}
            for index in range(9)
        },
        S9={"Type": "Pass", "End": True},
    )
    path = str(tmp_path / "engine.sqlite")
    engine = engine_with(store=Store(path))
    execution = start(engine, definition)
    # When the disk fills up under it (SQLite's own SQLITE_FULL, as from a full filesystem)
    pages = engine.store.query("PRAGMA page_count")[0][0]
    engine.store.db.execute(f"PRAGMA max_page_count = {pages + 4}")
    with pytest.raises(StoreFull) as caught:
        engine.run(skip_waits=True)
    # Then the engine stops with a message that says what happened and what to do
    message = str(caught.value)
    assert "engine.sqlite is full: the last step was not written" in message
    assert "free some space and start again, and unfinished executions resume" in message
    # And the execution is still running on disk: not failed, nothing half-written
    assert engine.describe_execution(execution)["status"] == "RUNNING"
    with pytest.raises(StoreFull):
        engine.run()  # nothing more is written by this engine
    # And once there is room again, a new engine finishes it as if nothing had happened
    fresh = engine_with(store=Store(path))
    fresh.run(skip_waits=True)
    described = fresh.describe_execution(execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {f"s{index}": "x" * 4096 for index in range(9)}
    types = history_types(fresh, execution)
    assert types.count("PassStateEntered") == types.count("PassStateExited") == 10


def test_a_start_on_a_full_disk_is_refused_and_leaves_no_execution(tmp_path: Path) -> None:
    # Given a machine whose executions write 40 KiB before their first pause, on a nearly full disk
    definition = machine(
        **{
            f"S{index}": {"Type": "Pass", "Result": "x" * 4096, "ResultPath": f"$.s{index}", "Next": f"S{index + 1}"}
            for index in range(9)
        },
        S9={"Type": "Pass", "End": True},
    )
    path = str(tmp_path / "engine.sqlite")
    engine = engine_with(store=Store(path))
    arn = engine.create_state_machine("m", definition)["stateMachineArn"]
    pages = engine.store.query("PRAGMA page_count")[0][0]
    engine.store.db.execute(f"PRAGMA max_page_count = {pages + 4}")
    # When an execution is started (StartExecution runs it to its first pause before it commits)
    with pytest.raises(StoreFull):
        engine.start_execution(arn, "run", "{}")
    # Then the caller is told, and no execution was kept: a new engine on the same file knows none
    fresh = engine_with(store=Store(path))
    assert fresh.list_executions(arn)["executions"] == []
