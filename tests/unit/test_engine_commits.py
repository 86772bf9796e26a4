"""What the engine writes, and when: an execution runs in memory until it pauses and commits once
per pause; frames born and ended between two commits are never written; an execution's rows
of frames go when it ends; a Parallel's or Map's lists are written once each; ListExecutions
pages. Speed is measured in bench/, never here: these tests count statements and read rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from stepline.engine import Engine, Functions, ManualClock, Store, TaskTimedOut
from stepline.engine.errors import InvalidToken, ValidationException
from stepline.engine.store import dumps

CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"


def machine(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def pass_chain(length: int) -> dict[str, dict[str, Any]]:
    states: dict[str, dict[str, Any]] = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(length)}
    states[f"S{length - 1}"] = {"Type": "Pass", "End": True}
    return states


def lambda_task(function: str, **extra: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": f"arn:aws:lambda:local:000000000000:function:{function}", **extra}


def callback_task(**extra: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": CALLBACK,
        "Parameters": {"FunctionName": "park", "Payload": {"token.$": "$$.Task.Token", "item.$": "$"}},
        "End": True,
        **extra,
    }


class Parked:
    """A callback function that keeps each token with the item it came with."""

    def __init__(self) -> None:
        self.waiting: list[tuple[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.waiting.append((event["token"], event["item"]))
        return {}


class Statements:
    """Every SQL statement the engine's connection runs, as SQLite traces them (one per row)."""

    def __init__(self, engine: Engine) -> None:
        self.seen: list[str] = []
        engine.store.db.set_trace_callback(self.seen.append)

    def count(self, prefix: str) -> int:
        return sum(statement.startswith(prefix) for statement in self.seen)


def new_engine(path: Path | None = None, **functions: Any) -> Engine:
    return Engine(Store(str(path) if path else None), clock=ManualClock(), functions=Functions(functions))


def start(engine: Engine, definition: dict[str, Any], given: Any = None, name: str = "run") -> str:
    arn = engine.create_state_machine("m", definition)["stateMachineArn"]
    return str(engine.start_execution(arn, name, json.dumps(given if given is not None else {}))["executionArn"])


def start_watched(engine: Engine, definition: dict[str, Any], given: Any = None) -> tuple[str, Statements]:
    """Started with its statements traced from StartExecution on, which runs it to its first pause."""
    arn = engine.create_state_machine("m", definition)["stateMachineArn"]
    statements = Statements(engine)
    return str(
        engine.start_execution(arn, "run", json.dumps(given if given is not None else {}))["executionArn"]
    ), statements


def rows(engine: Engine, table: str) -> int:
    return int(engine.store.query(f"SELECT count(*) FROM {table}")[0][0])


# --- one commit per pause ------------------------------------------------------------------


def test_states_that_never_pause_run_in_memory_and_commit_once() -> None:
    # Given an execution of thirty Pass states and an inline Map of forty items
    engine = new_engine()
    states = pass_chain(30)
    states["S29"] = {"Type": "Pass", "Parameters": {"items.$": "States.ArrayRange(1, 40, 1)"}, "Next": "Each"}
    states["Each"] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "Double", "States": {"Double": {"Type": "Pass", "End": True}}},
        "End": True,
    }
    # When it is started, and run
    execution, statements = start_watched(engine, machine(**states))
    engine.run()
    # Then it ran to its end in one commit, StartExecution's own, with every event, and none of
    # the iterations' frames written
    assert engine.describe_execution(execution)["output"] == json.dumps(list(range(1, 41)), separators=(",", ":"))
    assert statements.count("COMMIT") == 1
    assert statements.count("INSERT INTO events") == len(engine.get_execution_history(execution)["events"])
    assert statements.count("INSERT INTO frames") == 0
    # And nothing of its frames is left once it ended
    assert (rows(engine, "frames"), rows(engine, "map_items"), rows(engine, "results")) == (0, 0, 0)


def test_calls_leave_after_one_commit_and_their_results_are_committed_before_any_later_call(tmp_path: Path) -> None:
    # Given a Parallel of two tasks, then a chain of three, whose function reads the database
    # through a connection of its own (so it sees only what was committed)
    database = tmp_path / "engine.db"
    seen: list[int] = []

    def look(event: Any, context: Any) -> Any:
        with sqlite3.connect(database) as db:
            seen.append(db.execute("SELECT count(*) FROM events WHERE type = 'TaskScheduled'").fetchone()[0])
            seen.append(db.execute("SELECT count(*) FROM events WHERE type = 'TaskSucceeded'").fetchone()[0])
        return event

    engine = new_engine(database, look=look)
    branches = [machine(Left=lambda_task("look", End=True)), machine(Right=lambda_task("look", End=True))]
    # When it is started, and run
    execution, statements = start_watched(
        engine,
        machine(
            Both={"Type": "Parallel", "Branches": branches, "Next": "A"},
            A=lambda_task("look", Next="B"),
            B=lambda_task("look", Next="C"),
            C=lambda_task("look", End=True),
        ),
    )
    assert seen == []  # StartExecution calls nothing: its calls leave from run()
    engine.run()
    # Then the branches' two calls left together, after one commit holding both their starts;
    # and each later call found every earlier call's result committed
    assert engine.describe_execution(execution)["status"] == "SUCCEEDED"
    scheduled, succeeded = seen[0::2], seen[1::2]
    assert scheduled == [2, 2, 3, 4, 5]
    assert succeeded == [0, 0, 2, 3, 4]
    # And so one commit before each group of calls (the first StartExecution's), and one at the end
    assert statements.count("COMMIT") == 4 + 1


def test_an_answer_sent_after_the_handler_returned_but_before_it_was_recorded_is_kept() -> None:
    # Given a callback task whose handler has returned, what it returned not yet recorded
    parked = Parked()
    engine = new_engine(park=parked)
    execution = start(engine, machine(T=callback_task(ResultPath="$.answer")), {"q": 1})
    answered: list[str] = []

    def answer_once() -> bool:
        # run() asks this between its groups: right after the handler returned
        if parked.waiting and not answered:
            answered.append(parked.waiting[0][0])
            engine.send_task_success(parked.waiting[0][0], '{"ok": true}')
        return False

    # When the answer arrives in that moment
    engine.run(until=answer_once)
    # Then it settles the task, and a second answer is too late
    described = engine.describe_execution(execution)
    assert json.loads(described["output"]) == {"q": 1, "answer": {"ok": True}}
    with pytest.raises(TaskTimedOut):
        engine.send_task_success(answered[0], "{}")


def test_a_deadline_passing_before_a_return_is_recorded_still_times_the_task_out() -> None:
    # Given a callback task of TimeoutSeconds 10 whose handler returns in time
    clock = ManualClock()
    parked = Parked()
    engine = Engine(clock=clock, functions=Functions({"park": parked}))
    execution = start(engine, machine(T=callback_task(TimeoutSeconds=10)))
    moved: list[bool] = []

    def deadline_passes_once_returned() -> bool:
        # run() asks this between its groups: right after the handler returned
        if parked.waiting and not moved:
            moved.append(True)
            clock.advance(15)
        return False

    # When the deadline passes before the engine has recorded what the handler returned
    engine.run(until=deadline_passes_once_returned)
    # Then the task, waiting for its token by then, still times out
    described = engine.describe_execution(execution)
    assert (described["status"], described.get("error")) == ("FAILED", "States.Timeout")


@pytest.mark.parametrize("before", [0, 1])
def test_the_history_quota_reached_as_a_state_with_assign_enters_ends_the_execution_as_on_aws(before: int) -> None:
    # Given an endless loop through a Pass with Assign, its StateEntered at event 25,000 (or not)
    states: dict[str, dict[str, Any]] = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(before)}
    states[f"P{before}"] = {"Type": "Pass", "Next": "Count"}
    states["Count"] = {"Type": "Pass", "Assign": {"n.$": "$.n"}, "Next": "Check"}
    states["Check"] = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.n", "NumericEquals": -1, "Next": "Done"}],
        "Default": "Count",
    }
    states["Done"] = {"Type": "Succeed"}
    engine = new_engine()
    execution = start(engine, {"StartAt": "P0", "States": states}, {"n": 0})
    # When it runs into the quota
    engine.run()
    # Then it fails with AWS's error and cause, not an engine fault
    described = engine.describe_execution(execution)
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert described["cause"] == "The execution reached the maximum number of history events (25000)."


# --- a Map's lists, and recovery -----------------------------------------------------------


def test_a_map_keeps_its_items_and_results_apart_from_its_frame_and_resumes_after_a_restart(tmp_path: Path) -> None:
    # Given a Map of 300 items whose iterations each wait for an answer
    database = tmp_path / "engine.db"
    parked = Parked()
    engine = new_engine(database, park=parked)
    each = {"Type": "Map", "ItemProcessor": {"StartAt": "Ask", "States": {"Ask": callback_task()}}, "End": True}
    execution, statements = start_watched(engine, machine(Each=each), list(range(300)))
    engine.run()
    # When half of them are answered, each in a commit of its own
    for token, item in parked.waiting[:150]:
        engine.send_task_success(token, json.dumps(item * 2))
        engine.run()
    # Then the Map's own row stayed small, its items were written once, each result once
    (data,) = engine.store.query("SELECT data FROM frames WHERE state = 'Each'")[0]
    assert len(data) < 300
    assert statements.count("INSERT OR REPLACE INTO map_items") == 1
    assert rows(engine, "results") == 150
    # And a new engine on the same database, answered the rest, ends the Map as if nothing happened
    engine.close()
    engine.store.close()
    again = new_engine(database, park=parked)
    for token, item in parked.waiting[150:]:
        again.send_task_success(token, json.dumps(item * 2))
    described = again.run_until_done(execution)
    assert json.loads(described["output"]) == [item * 2 for item in range(300)]
    assert (rows(again, "frames"), rows(again, "map_items"), rows(again, "results")) == (0, 0, 0)


def test_a_distributed_map_finds_its_running_children_again_after_a_restart(tmp_path: Path) -> None:
    # Given a distributed Map of six items, two children at a time, each waiting for an answer
    database = tmp_path / "engine.db"
    parked = Parked()
    engine = new_engine(database, park=parked)
    each = {
        "Type": "Map",
        "MaxConcurrency": 2,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Ask",
            "States": {"Ask": callback_task()},
        },
        "End": True,
    }
    execution = start(engine, machine(Each=each), [10, 11, 12, 13, 14, 15])
    engine.run()
    engine.send_task_success(parked.waiting[1][0], json.dumps(parked.waiting[1][1] * 2))
    engine.run()
    engine.store.close()
    # When a new engine opens the database and every child still waiting is answered
    again = new_engine(database, park=parked)
    answered = {parked.waiting[1][0]}
    while len(answered) < 6:
        again.run()
        for token, item in parked.waiting:
            if token not in answered:
                answered.add(token)
                again.send_task_success(token, json.dumps(item * 2))
    # Then each child's result lands at its own item's place
    described = again.run_until_done(execution)
    assert json.loads(described["output"]) == [20, 22, 24, 26, 28, 30]


def test_a_parallel_an_older_engine_was_running_finishes(tmp_path: Path) -> None:
    # Given a Parallel paused in a database as an older engine wrote it: its results in its row
    database = tmp_path / "engine.db"
    parked = Parked()
    engine = new_engine(database, park=parked)
    quick = machine(Quick={"Type": "Pass", "Result": "quick", "End": True})
    slow = machine(Slow=callback_task())
    execution = start(engine, machine(Both={"Type": "Parallel", "Branches": [quick, slow], "End": True}))
    engine.run()
    engine.store.close()
    with sqlite3.connect(database) as db:
        frame_id, data = db.execute("SELECT id, data FROM frames WHERE state = 'Both'").fetchone()
        older = {key: value for key, value in json.loads(data).items() if key != "total"}
        db.execute(
            "UPDATE frames SET data = ? WHERE id = ?", (json.dumps({**older, "results": ["quick", None]}), frame_id)
        )
        db.execute("DELETE FROM results")
        db.execute("PRAGMA user_version = 0")
    # When this engine opens it and the waiting branch is answered
    again = new_engine(database, park=parked)
    again.send_task_success(parked.waiting[0][0], '"slow"')
    # Then the Parallel ends with both branches' outputs
    assert json.loads(again.run_until_done(execution)["output"]) == ["quick", "slow"]


def test_executions_that_only_started_resume_from_their_own_rows(tmp_path: Path) -> None:
    # Given a distributed Map's first step committed alone: two children started, not yet stepped
    database = tmp_path / "engine.db"
    engine = Engine(Store(str(database)), clock=ManualClock(), durability="transition")
    each = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Same",
            "States": {"Same": {"Type": "Pass", "End": True}},
        },
        "End": True,
    }
    execution = start(engine, machine(Each=each), [1, 2])
    groups: list[int] = []

    def after_one_group() -> bool:
        groups.append(1)
        return len(groups) > 1

    engine.run(until=after_one_group)
    # Then only the Map's frame has a row: a frame that has not moved is made again from its
    # execution's row (its input, its first state)
    assert engine.store.query("SELECT state FROM frames") == [("Each",)]
    assert engine.store.query("SELECT count(*) FROM executions WHERE status = 'RUNNING'") == [(3,)]
    engine.store.close()
    # When a new engine opens the database
    again = new_engine(database)
    # Then the children run from where they started, and the Map ends
    assert json.loads(again.run_until_done(execution)["output"]) == [1, 2]


def test_frame_ids_are_never_reused_once_their_rows_are_gone(tmp_path: Path) -> None:
    # Given an execution that ran and ended, its frames' rows deleted
    database = tmp_path / "engine.db"
    parked = Parked()
    engine = new_engine(database, park=parked)
    branches = [machine(Ask=callback_task()), machine(Ask2=callback_task())]
    first = start(engine, machine(Both={"Type": "Parallel", "Branches": branches, "End": True}), name="first")
    engine.run()
    used = {frame_id for (frame_id,) in engine.store.query("SELECT id FROM frames")}
    for token, _ in parked.waiting:
        engine.send_task_success(token, "1")
    assert engine.run_until_done(first)["status"] == "SUCCEEDED"
    assert rows(engine, "frames") == 0
    engine.store.close()
    # When a new engine runs another execution to a pause
    again = new_engine(database, park=parked)
    start(again, machine(Ask=callback_task()), name="second")
    again.run()
    # Then its frames have ids never used before
    fresh = {frame_id for (frame_id,) in again.store.query("SELECT id FROM frames")}
    assert fresh
    assert min(fresh) > max(used)


# --- ListExecutions ------------------------------------------------------------------------


def test_list_executions_pages_newest_first_as_step_functions_does() -> None:
    # Given 250 executions of one machine, started a second apart, and one of another machine
    clock = ManualClock()
    engine = Engine(clock=clock)
    arn = engine.create_state_machine("m", machine(W={"Type": "Wait", "Seconds": 1, "End": True}))["stateMachineArn"]
    for index in range(250):
        engine.start_execution(arn, f"e{index:03}")
        clock.advance(1)
    other = engine.create_state_machine("other", machine(P={"Type": "Pass", "End": True}))["stateMachineArn"]
    engine.start_execution(other, "elsewhere")
    # When they are listed a page at a time
    pages, token = [], None
    while True:
        page = engine.list_executions(arn, max_results=100, next_token=token)
        pages.append([execution["name"] for execution in page["executions"]])
        token = page.get("nextToken")
        if token is None:
            break
    # Then the pages hold them all, newest first, each once
    assert [len(page) for page in pages] == [100, 100, 50]
    assert [name for page in pages for name in page] == [f"e{index:03}" for index in reversed(range(250))]
    # And 0 is Step Functions' default page of 100; no maxResults lists them all
    assert len(engine.list_executions(arn, max_results=0)["executions"]) == 100
    assert len(engine.list_executions()["executions"]) == 251
    # And a status filter pages too
    engine.run()
    assert len(engine.list_executions(other, status_filter="SUCCEEDED", max_results=1)["executions"]) == 1
    assert "nextToken" not in engine.list_executions(other, status_filter="SUCCEEDED", max_results=1)


def test_get_execution_history_pages_in_either_order_as_step_functions_does() -> None:
    # Given an execution of 120 Pass states: 242 events
    engine = new_engine()
    execution = start(engine, machine(**pass_chain(120)), {"n": 1})
    engine.run()
    whole = engine.get_execution_history(execution)["events"]
    assert len(whole) == 242

    def pages(**asked: Any) -> list[list[dict[str, Any]]]:
        found, token = [], None
        while True:
            page = engine.get_execution_history(execution, max_results=100, next_token=token, **asked)
            found.append(page["events"])
            token = page.get("nextToken")
            if token is None:
                return found

    # When it is read a page of 100 at a time, oldest first and newest first
    forward, backward = pages(), pages(reverse_order=True)
    # Then the pages hold every event once, in that order, with no token after the last
    assert [len(page) for page in forward] == [len(page) for page in backward] == [100, 100, 42]
    assert [event for page in forward for event in page] == whole
    assert [event for page in backward for event in page] == whole[::-1]
    # And 0 is Step Functions' default page of 100; without maxResults the whole history comes at once
    assert len(engine.get_execution_history(execution, max_results=0)["events"]) == 100
    assert "nextToken" not in engine.get_execution_history(execution)
    # And a token is for the order it was given in
    token = engine.get_execution_history(execution, max_results=10)["nextToken"]
    with pytest.raises(InvalidToken, match="Invalid Token"):
        engine.get_execution_history(execution, max_results=10, next_token=token, reverse_order=True)
    with pytest.raises(ValidationException, match="maxResults must be between 0 and 1000"):
        engine.get_execution_history(execution, max_results=1001)
    # And includeExecutionData=false leaves out each event's input and output, and nothing else
    bare = engine.get_execution_history(execution, include_execution_data=False)["events"]
    assert bare[1]["stateEnteredEventDetails"] == {"name": "S0", "inputDetails": {"truncated": False}}
    assert [event["type"] for event in bare] == [event["type"] for event in whole]


@pytest.mark.parametrize("token", ["", "not a token", "WzFd", "eyJhIjoxfQ==", "WyJ4IiwxXQ=="])
def test_a_next_token_the_engine_did_not_give_is_refused(token: str) -> None:
    # [1], {"a":1} and ["x",1] are JSON, but not a place in the list or in a history
    engine = Engine(clock=ManualClock())
    with pytest.raises(InvalidToken, match="Invalid Token"):
        engine.list_executions(next_token=token)
    execution = start(engine, machine(P={"Type": "Pass", "End": True}))
    with pytest.raises(InvalidToken, match="Invalid Token"):
        engine.get_execution_history(execution, max_results=1, next_token=token)


@pytest.mark.parametrize("size", [-1, 1001])
def test_a_page_size_out_of_step_functions_range_is_refused(size: int) -> None:
    with pytest.raises(ValidationException, match="maxResults must be between 0 and 1000"):
        Engine(clock=ManualClock()).list_executions(max_results=size)


# --- JSON ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [{"a": [1, 2.5, None, True], "b": "x"}, {"é": "ü"}, 2**70, {"n": -(2**64)}, "\u2028", [{"k": "\x00\n"}]],
)
def test_the_engine_writes_json_as_json_dumps_does(value: Any) -> None:
    assert dumps(value) == json.dumps(value, separators=(",", ":"))


def test_a_map_runs_children_are_named_by_its_uuid_and_their_index() -> None:
    # Given a distributed Map of three items
    engine = new_engine()
    each = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Same",
            "States": {"Same": {"Type": "Pass", "End": True}},
        },
        "End": True,
    }
    execution = start(engine, machine(Each=each), ["a", "b", "c"])
    # When it runs
    engine.run()
    # Then each child is named by a UUID: the Map Run's, its last group the item's index, so
    # that the children of a run sort (and are written) in the order they start
    events = engine.get_execution_history(execution)["events"]
    run = next(event for event in events if event["type"] == "MapRunStarted")["mapRunStartedEventDetails"]
    run_uuid = run["mapRunArn"].rsplit(":", 1)[1]
    children = sorted(
        (child["name"], json.loads(engine.describe_execution(child["executionArn"])["input"]))
        for child in engine.list_executions()["executions"]
        if child["stateMachineArn"].endswith(":m/Each")
    )
    assert children == [(f"{run_uuid[:24]}{index:012x}", item) for index, item in enumerate("abc")]
