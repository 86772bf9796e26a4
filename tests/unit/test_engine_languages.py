"""The engine's query languages, workflow variables and distributed maps, beyond what the
conformance suite compares with moto: refusals by name, history, durability, limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stepline.engine import Engine, Functions, InvalidDefinition, ManualClock, Store


def machine(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def run(definition: dict[str, Any], given: Any = None, engine: Engine | None = None) -> tuple[Engine, dict[str, Any]]:
    engine = engine or Engine(clock=ManualClock(), functions=Functions())
    arn = engine.create_state_machine("m", definition)["stateMachineArn"]
    execution = engine.start_execution(arn, "run", json.dumps(given if given is not None else {}))["executionArn"]
    return engine, engine.run_until_done(execution, skip_waits=True)


def refusal(definition: dict[str, Any]) -> str:
    with pytest.raises(InvalidDefinition) as raised:
        Engine(clock=ManualClock()).create_state_machine("m", definition)
    return str(raised.value)


# --- what each language refuses ---------------------------------------------------------------


def test_jsonata_fields_in_a_jsonpath_state_are_refused_by_name() -> None:
    # Given a JSONPath state with Output and a JSONPath choice rule with a Condition
    definition = machine(
        P={"Type": "Pass", "Output": "{% 1 %}", "Next": "C"},
        C={"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "D"}]},
        D={"Type": "Succeed"},
    )
    # When it is created, Then each is refused, naming the state and field
    message = refusal(definition)
    assert "state 'P': SCHEMA_VALIDATION_FAILED: The field \"Output\" is only supported in JSONata states" in message
    assert 'Choices[0]: SCHEMA_VALIDATION_FAILED: The field "Condition" is only supported in JSONata states' in message


def test_a_jsonpath_state_in_a_jsonata_machine_is_refused() -> None:
    definition = {"QueryLanguage": "JSONata", **machine(P={"Type": "Pass", "QueryLanguage": "JSONPath", "End": True})}
    assert "QueryLanguage JSONPath is not allowed in a state machine whose QueryLanguage is JSONata" in refusal(
        definition
    )


def test_path_fields_in_a_jsonata_state_name_their_replacement() -> None:
    wait = {"Type": "Wait", "SecondsPath": "$.s", "End": True}
    message = refusal({"QueryLanguage": "JSONata", **machine(W=wait)})
    assert 'The field "SecondsPath" is not supported in JSONata states; use Seconds with a {% %} expression' in message


def test_a_jsonata_expression_that_cannot_parse_is_refused_at_creation() -> None:
    message = refusal(
        {"QueryLanguage": "JSONata", **machine(P={"Type": "Pass", "Output": "{% $states.input. %}", "End": True})}
    )
    assert "state 'P': Output: the JSONata expression '$states.input.' cannot be parsed" in message


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("phone", "UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported."),
        ("$", "UNSUPPORTED_JSONATA_EXPRESSION: Reference to '$' at the top level"),
        ("$$.a", "UNSUPPORTED_JSONATA_EXPRESSION: Reference to '$$' at the top level"),
        ("$count(items)", "UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'items' at the top level"),
        ("{'n': $states.input.n, 'v': value}", "UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'value' at the top level"),
        ("$states.input.a ?? 0", "INVALID_JSONATA_EXPRESSION: the operator '??' is not in JSONata 2.0.6"),
        ("$states.input.a ?: 0", "INVALID_JSONATA_EXPRESSION: the operator '?:' is not in JSONata 2.0.6"),
    ],
)
def test_what_step_functions_refuses_in_an_expression_is_refused_at_creation(expression: str, problem: str) -> None:
    # Given an expression that reads the (absent) input document at its top level, or an
    # operator JSONata added after 2.0.6 (jsonatapy would run both)
    definition = {
        "QueryLanguage": "JSONata",
        **machine(P={"Type": "Pass", "Output": f"{{% {expression} %}}", "End": True}),
    }
    # Then creating the machine is refused, naming the state, the field and the reference
    assert f"state 'P': Output: {problem}" in refusal(definition)


@pytest.mark.parametrize(
    "expression",
    [
        "$states.input.items[price > 5].name",
        "$states.input.items{type: $sum(price)}",
        "$states.input.items^(>price).name",
        "$map($states.input.items, function($v) { v.name })",
        "$match($states.input.s, /ab??c/)",
        "$states.input ~> | items | {'seen': true} |",
        "$states.input.n > 3 ? 'big' : 'small'",
        "($total := $sum($states.input.items.price); $total * 2)",
    ],
)
def test_references_nested_inside_an_expression_are_allowed(expression: str) -> None:
    # Given a field read inside a predicate, group-by, sort, lambda or transform, or a "??" in a regex
    definition = {
        "QueryLanguage": "JSONata",
        **machine(P={"Type": "Pass", "Output": f"{{% {expression} %}}", "End": True}),
    }
    # Then the machine is created (the engine refuses only what Step Functions refuses)
    Engine(clock=ManualClock()).create_state_machine("m", definition)


@pytest.mark.parametrize("name", ["1st", "has-dash", "states"])
def test_an_assign_to_a_bad_variable_name_is_refused(name: str) -> None:
    message = refusal(machine(P={"Type": "Pass", "Assign": {name: 1}, "End": True}))
    assert f"state 'P': Assign: {name!r}" in message


# --- variables ------------------------------------------------------------------------------------


def test_assigned_variables_are_in_the_state_exited_event() -> None:
    # Given a Pass assigning two variables
    engine, described = run(machine(P={"Type": "Pass", "Assign": {"n": 1, "s.$": "$.s"}, "End": True}), {"s": "x"})
    # When its history is read
    events = engine.get_execution_history(described["executionArn"])["events"]
    exited = next(event for event in events if event["type"] == "PassStateExited")["stateExitedEventDetails"]
    # Then StateExited shows them as JSON text, as Step Functions does
    assert exited["assignedVariables"] == {"n": "1", "s": '"x"'}
    assert exited["assignedVariablesDetails"] == {"truncated": False}


def test_variables_survive_the_engine_being_reopened(tmp_path: Path) -> None:
    # Given a variable assigned before a Wait, and an engine on a file
    database = str(tmp_path / "engine.db")
    definition = machine(
        Set={"Type": "Pass", "Assign": {"kept.$": "$.value"}, "Next": "Nap"},
        Nap={"Type": "Wait", "Seconds": 60, "Next": "Read"},
        Read={"Type": "Pass", "Parameters": {"kept.$": "$kept"}, "End": True},
    )
    clock = ManualClock()
    first = Engine(Store(database), clock=clock)
    arn = first.create_state_machine("m", definition)["stateMachineArn"]
    execution = first.start_execution(arn, "run", json.dumps({"value": 42}))["executionArn"]
    first.run()  # up to the Wait
    first.close()
    # When another engine opens the same database and the Wait ends
    clock.advance(61)
    second = Engine(Store(database), clock=clock)
    described = second.run_until_done(execution, skip_waits=True)
    # Then the variable is still there
    assert json.loads(described["output"]) == {"kept": 42}


def test_an_execution_holds_at_most_10_mib_of_variables() -> None:
    # Given 48 iterations at once, each keeping a 220 KB variable in its own scope while it waits
    each = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"s.$": "$.s"},
        "ItemProcessor": machine(
            Keep={"Type": "Pass", "Assign": {"v.$": "$.s"}, "Next": "Nap"},
            Nap={"Type": "Wait", "Seconds": 1, "End": True},
        ),
        "End": True,
    }
    # When it runs
    _, described = run(machine(Each=each), {"s": "x" * 220_000, "items": list(range(48))})
    # Then the execution fails when its variables pass 10 MiB (the guide's limit)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.DataLimitExceeded"


# --- distributed maps -----------------------------------------------------------------------------


def distributed(processor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    config = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}}
    return {"Type": "Map", "Label": "Each", "ItemProcessor": {**config, **processor}, "End": True, **fields}


def test_a_distributed_map_runs_each_item_as_a_child_execution_of_a_map_run() -> None:
    # Given a distributed map over three items
    engine, described = run(machine(M=distributed(machine(Id={"Type": "Pass", "End": True}))), [1, 2, 3])
    # When it has run
    events = engine.get_execution_history(described["executionArn"])["events"]
    types = [event["type"] for event in events]
    children = engine.list_executions()["executions"]
    run_started = next(event for event in events if event["type"] == "MapRunStarted")
    # Then the parent's history shows a Map Run, and each item ran as an execution of the processor
    assert json.loads(described["output"]) == [1, 2, 3]
    assert types[types.index("MapStateEntered") :] == [
        "MapStateEntered",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert run_started["mapRunStartedEventDetails"]["mapRunArn"].startswith(
        "arn:aws:states:local:000000000000:mapRun:m/Each:"
    )
    child_arns = [
        child["executionArn"] for child in children if child["stateMachineArn"].endswith(":stateMachine:m/Each")
    ]
    assert len(child_arns) == 3
    assert all(arn.startswith("arn:aws:states:local:000000000000:execution:m/Each:") for arn in child_arns)


def test_an_express_childs_whole_history_is_kept_and_read_like_any_execution() -> None:
    # Given a distributed map of EXPRESS children, each running two states
    processor = machine(A={"Type": "Pass", "Next": "B"}, B={"Type": "Pass", "Result": "done", "End": True})
    engine, described = run(machine(M=distributed(processor)), [7])
    assert json.loads(described["output"]) == ["done"]
    # When a child's history is read (AWS keeps it in CloudWatch Logs, at logging level ALL)
    (child,) = [
        found["executionArn"]
        for found in engine.list_executions()["executions"]
        if found["stateMachineArn"].endswith(":stateMachine:m/Each")
    ]
    events = engine.get_execution_history(child)["events"]
    # Then every event of it is there, its input and output with them
    assert [event["type"] for event in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert events[0]["executionStartedEventDetails"]["input"] == "7"
    assert events[-1]["executionSucceededEventDetails"]["output"] == '"done"'


def test_a_distributed_maps_children_do_not_see_the_parents_variables() -> None:
    # Given a variable in the parent, read by the distributed map's processor
    definition = machine(
        Set={"Type": "Pass", "Assign": {"outer": 1}, "Next": "M"},
        M=distributed(machine(Read={"Type": "Pass", "Parameters": {"o.$": "$outer"}, "End": True})),
    )
    # When it runs
    _, described = run(definition, [1])
    # Then the child fails to read it, and the Map fails beyond its tolerance (none)
    assert described["error"] == "States.ExceedToleratedFailureThreshold"


def test_items_over_max_input_bytes_per_batch_are_split() -> None:
    # Given items of about 40 bytes each, batched at most 100 bytes a batch
    items = [{"name": f"item-{index:02d}-padding-padding"} for index in range(5)]
    definition = machine(
        M=distributed(
            machine(Count={"Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.Items)"}, "End": True}),
            ItemBatcher={"MaxInputBytesPerBatch": 100},
        )
    )
    # When it runs
    _, described = run(definition, items)
    # Then no batch holds more than fits, and every item is in one
    counts = [batch["n"] for batch in json.loads(described["output"])]
    assert sum(counts) == 5
    assert max(counts) == 2


def test_a_jsonata_definition_created_on_one_thread_runs_on_another() -> None:
    # Given a JSONata machine created on another thread (as the API's threads do for `stepline serve`)
    import threading

    engine = Engine(clock=ManualClock())
    created: dict[str, str] = {}
    definition = {
        "QueryLanguage": "JSONata",
        **machine(P={"Type": "Pass", "Output": "{% $states.input.a * 2 %}", "End": True}),
    }
    thread = threading.Thread(target=lambda: created.update(engine.create_state_machine("m", definition)))
    thread.start()
    thread.join()
    # When it runs on this thread
    execution = engine.start_execution(created["stateMachineArn"], "run", '{"a": 21}')["executionArn"]
    described = engine.run_until_done(execution)
    # Then its expressions evaluate here too (jsonatapy's compiled expressions are bound to a thread)
    assert json.loads(described["output"]) == 42
