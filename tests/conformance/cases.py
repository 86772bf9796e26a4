"""ASL definitions run on the embedded engine and on moto's interpreter, with what AWS documents.

Each case names the outcome it must have (``expect``): status, and output or error. Both
engines must produce it. Where moto 5.2.5 is known to differ from AWS, ``moto_differs`` says
how, and only the documented outcome is asserted (and that moto still differs, so the note
is removed when moto is fixed).

Lambda functions used by the cases (same behaviour on both engines; see harness.py):
``echo`` returns its event; ``fail`` raises CustomError(event["message"]); ``double`` returns
{"value": event["value"] * 2}; ``flaky`` fails with Transient until called event["failures"]
+ 1 times for event["key"]; ``answer`` sends SendTaskSuccess (or Failure) for event["token"].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LAMBDA = "arn:aws:states:::lambda:invoke"
CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"


@dataclass(frozen=True)
class Case:
    id: str
    definition: dict[str, Any]
    expect: dict[str, Any]
    input: Any = field(default_factory=dict)
    moto_differs: str | None = None


def machine(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def ok(output: Any) -> dict[str, Any]:
    return {"status": "SUCCEEDED", "output": output}


def failed(error: str, cause: str | None = None) -> dict[str, Any]:
    outcome: dict[str, Any] = {"status": "FAILED", "error": error}
    if cause is not None:
        outcome["cause"] = cause
    return outcome


def task(function: str, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": LAMBDA,
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        "ResultSelector": {"value.$": "$.Payload"},
        **extra,
    }


def intrinsic(expression: str, expected: Any, moto_differs: str | None = None) -> Case:
    return Case(
        f"intrinsic {expression}",
        machine(Compute={"Type": "Pass", "Parameters": {"result.$": expression}, "End": True}),
        ok({"result": expected}),
        input={"a": [1, 2, 3, 2], "s": "a,b,,c", "o": {"x": 1}, "n": 5},
        moto_differs=moto_differs,
    )


ESCAPES = "moto keeps the backslash of an escaped brace in intrinsic string literals; AWS requires and removes it"


CASES: list[Case] = [
    # --- Pass and the paths ---------------------------------------------------------------
    Case("pass returns its input", machine(P={"Type": "Pass", "End": True}), ok({"a": 1}), {"a": 1}),
    Case(
        "pass result replaces input",
        machine(P={"Type": "Pass", "Result": {"r": True}, "End": True}),
        ok({"r": True}),
        {"a": 1},
    ),
    Case(
        "result path nests and creates fields",
        machine(P={"Type": "Pass", "Result": 7, "ResultPath": "$.b.c.d", "End": True}),
        ok({"a": 1, "b": {"c": {"d": 7}}}),
        {"a": 1},
    ),
    Case(
        "result path null keeps input",
        machine(P={"Type": "Pass", "Result": 7, "ResultPath": None, "End": True}),
        ok({"a": 1}),
        {"a": 1},
    ),
    Case(
        "input path selects and output path filters",
        machine(P={"Type": "Pass", "InputPath": "$.in", "ResultPath": "$.copy", "OutputPath": "$.copy", "End": True}),
        ok({"k": "v"}),
        {"in": {"k": "v"}, "other": 1},
    ),
    Case(
        "input path null gives empty object",
        machine(P={"Type": "Pass", "InputPath": None, "End": True}),
        ok({}),
        {"a": 1},
    ),
    Case(
        "output path null gives empty object",
        machine(P={"Type": "Pass", "OutputPath": None, "End": True}),
        ok({}),
        {"a": 1},
    ),
    Case(
        "parameters with paths, arrays and context",
        machine(
            P={
                "Type": "Pass",
                "Parameters": {
                    "first.$": "$.items[0]",
                    "last.$": "$.items[-1:]",
                    "names.$": "$.people[*].name",
                    "adults.$": "$.people[?(@.age >= 18)].name",
                    "nested": {"static": 1, "dynamic.$": "$.people[1]"},
                    "state.$": "$$.State.Name",
                    "machine.$": "$$.StateMachine.Name",
                    "input.$": "$$.Execution.Input.items",
                },
                "End": True,
            }
        ),
        ok(
            {
                "first": 10,
                "last": [30],
                "names": ["Ada", "Bo"],
                "adults": ["Ada"],
                "nested": {"static": 1, "dynamic": {"name": "Bo", "age": 9}},
                "state": "P",
                "machine": "conformance",
                "input": [10, 20, 30],
            }
        ),
        {"items": [10, 20, 30], "people": [{"name": "Ada", "age": 36}, {"name": "Bo", "age": 9}]},
    ),
    Case(
        "deep scan and bracket names",
        machine(P={"Type": "Pass", "Parameters": {"ids.$": "$..id", "odd.$": "$['odd key']"}, "End": True}),
        ok({"ids": [1, 2, 3], "odd": "yes"}),
        {"a": {"id": 1, "b": [{"id": 2}, {"c": {"id": 3}}]}, "odd key": "yes"},
    ),
    Case(
        "a missing path in parameters is a runtime error",
        machine(P={"Type": "Pass", "Parameters": {"x.$": "$.nope"}, "End": True}),
        failed("States.Runtime"),
        {"a": 1},
    ),
    Case(
        "a missing input path is a runtime error",
        machine(P={"Type": "Pass", "InputPath": "$.nope", "End": True}),
        failed("States.Runtime"),
    ),
    # --- intrinsics -----------------------------------------------------------------------
    *[
        intrinsic(*spec)
        for spec in (
            ("States.Format('{} has {} items, ok={}', $.s, $.n, true)", "a,b,,c has 5 items, ok=true"),
            ("States.Format('braces \\{\\} and quote \\' kept')", "braces {} and quote ' kept", ESCAPES),
            ("States.StringToJson('\\{\"k\": [1, 2]\\}')", {"k": [1, 2]}, ESCAPES),
            ("States.JsonToString($.o)", '{"x":1}'),
            (
                "States.Array($.n, 'two', true, null, $.o)",
                [5, "two", True, None, {"x": 1}],
                "moto drops null arguments from States.Array",
            ),
            ("States.ArrayPartition($.a, 3)", [[1, 2, 3], [2]]),
            ("States.ArrayContains($.a, 2)", True),
            ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
            ("States.ArrayGetItem($.a, 1)", 2),
            ("States.ArrayLength($.a)", 4),
            ("States.ArrayUnique($.a)", [1, 2, 3]),
            ("States.Base64Encode('Stepline')", "U3RlcGxpbmU="),
            ("States.Base64Decode('U3RlcGxpbmU=')", "Stepline"),
            ("States.Hash('Stepline', 'SHA-256')", "492e4d2ab47da675f1e0a1b921bc0873e4b7e988cd29ea80bf0f69d4effae16c"),
            ("States.Hash('Stepline', 'MD5')", "966d8115f9ae0f2d9ae32546648c3bef"),
            ("States.JsonMerge($.o, States.StringToJson('\\{\"y\": 2\\}'), false)", {"x": 1, "y": 2}, ESCAPES),
            ("States.MathAdd($.n, -7)", -2),
            ("States.StringSplit($.s, ',')", ["a", "b", "c"]),
            ("States.ArrayLength(States.StringSplit(States.UUID(), '-'))", 5),
        )
    ],
    Case(
        "math random stays in range",
        machine(
            R={"Type": "Pass", "Parameters": {"r.$": "States.MathRandom(1, 3)"}, "Next": "Check"},
            Check={
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.r", "NumericGreaterThanEquals": 1},
                            {"Variable": "$.r", "NumericLessThanEquals": 3},
                        ],
                        "Next": "Yes",
                    }
                ],
                "Default": "No",
            },
            Yes={"Type": "Succeed"},
            No={"Type": "Fail", "Error": "OutOfRange"},
        ),
        {"status": "SUCCEEDED"},
    ),
    Case(
        "an intrinsic failure is a runtime error",
        machine(P={"Type": "Pass", "Parameters": {"x.$": "States.ArrayGetItem($.a, 9)"}, "End": True}),
        failed("States.Runtime"),
        {"a": [1]},
    ),
    # --- Choice ---------------------------------------------------------------------------
    Case(
        "choice operators",
        machine(
            C={
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.s", "StringEquals": "abc"},
                            {"Variable": "$.s", "StringLessThan": "abd"},
                            {"Variable": "$.s", "StringGreaterThanEquals": "abc"},
                            {"Variable": "$.s", "StringMatches": "a*c"},
                            {"Variable": "$.n", "NumericEquals": 5},
                            {"Variable": "$.n", "NumericGreaterThan": 4.5},
                            {"Variable": "$.n", "NumericLessThanEqualsPath": "$.limit"},
                            {"Variable": "$.b", "BooleanEquals": True},
                            {"Variable": "$.t", "TimestampLessThan": "2030-01-01T00:00:00Z"},
                            {"Variable": "$.t", "TimestampEqualsPath": "$.t"},
                            {"Variable": "$.s", "StringEqualsPath": "$.s"},
                            {"Not": {"Variable": "$.n", "NumericEquals": 6}},
                            {
                                "Or": [
                                    {"Variable": "$.n", "NumericEquals": 1},
                                    {"Variable": "$.b", "BooleanEqualsPath": "$.b"},
                                ]
                            },
                            {"Variable": "$.missing", "IsPresent": False},
                            {"Variable": "$.z", "IsNull": True},
                            {"Variable": "$.n", "IsNumeric": True},
                            {"Variable": "$.s", "IsString": True},
                            {"Variable": "$.b", "IsBoolean": True},
                            {"Variable": "$.t", "IsTimestamp": True},
                            {"Variable": "$.s", "IsTimestamp": False},
                        ],
                        "Next": "Matched",
                    }
                ],
                "Default": "Missed",
            },
            Matched={"Type": "Pass", "Result": "matched", "End": True},
            Missed={"Type": "Pass", "Result": "missed", "End": True},
        ),
        ok("matched"),
        {"s": "abc", "n": 5, "limit": 5, "b": True, "t": "2026-11-22T04:00:00Z", "z": None},
    ),
    Case(
        "choice on the wrong type does not match",
        machine(
            C={"Type": "Choice", "Choices": [{"Variable": "$.n", "StringEquals": "5", "Next": "A"}], "Default": "B"},
            A={"Type": "Pass", "Result": "A", "End": True},
            B={"Type": "Pass", "Result": "B", "End": True},
        ),
        ok("B"),
        {"n": 5},
    ),
    Case(
        "string matches escapes the star",
        machine(
            C={
                "Type": "Choice",
                "Choices": [{"Variable": "$.s", "StringMatches": "log-\\*.txt", "Next": "A"}],
                "Default": "B",
            },
            A={"Type": "Pass", "Result": "literal star", "End": True},
            B={"Type": "Pass", "Result": "no", "End": True},
        ),
        ok("literal star"),
        {"s": "log-*.txt"},
        moto_differs="moto treats every * in StringMatches as a wildcard; AWS documents \\* as a literal star",
    ),
    Case(
        "no choice matched fails",
        machine(
            C={"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "A"}]},
            A={"Type": "Succeed"},
        ),
        failed("States.NoChoiceMatched"),
        {"n": 2},
        moto_differs="moto reports States.Runtime where AWS documents States.NoChoiceMatched",
    ),
    Case(
        "choice output path",
        machine(
            C={
                "Type": "Choice",
                "InputPath": "$.in",
                "OutputPath": "$.keep",
                "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "A"}],
            },
            A={"Type": "Succeed"},
        ),
        ok({"x": 1}),
        {"in": {"go": True, "keep": {"x": 1}}},
    ),
    # --- Wait, Succeed, Fail --------------------------------------------------------------
    Case(
        "waits of every kind pass the input through",
        machine(
            W1={"Type": "Wait", "Seconds": 0, "Next": "W2"},
            W2={"Type": "Wait", "SecondsPath": "$.zero", "Next": "W3"},
            W3={"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z", "Next": "W4"},
            W4={"Type": "Wait", "TimestampPath": "$.past", "OutputPath": "$.zero", "End": True},
        ),
        ok(0),
        {"zero": 0, "past": "2021-06-01T12:00:00.500Z"},
    ),
    Case("succeed", machine(S={"Type": "Succeed", "OutputPath": "$.a"}), ok(1), {"a": 1}),
    Case(
        "fail with error and cause",
        machine(F={"Type": "Fail", "Error": "Broken", "Cause": "it broke"}),
        failed("Broken", "it broke"),
    ),
    Case(
        "fail with error path and cause from an intrinsic",
        machine(F={"Type": "Fail", "ErrorPath": "$.code", "CausePath": "States.Format('{} failed', $.what)"}),
        failed("DeployFailed", "deploy failed"),
        {"code": "DeployFailed", "what": "deploy"},
    ),
    # --- Tasks ----------------------------------------------------------------------------
    Case(
        "lambda invoke wraps the payload",
        machine(T=task("echo", End=True)),
        ok({"value": {"hello": "world"}}),
        {"hello": "world"},
    ),
    Case(
        "lambda invoke result path keeps the input",
        machine(T={**task("double"), "ResultPath": "$.doubled", "End": True}),
        ok({"value": 21, "doubled": {"value": {"value": 42}}}),
        {"value": 21},
    ),
    Case(
        "a function error is caught with its name",
        machine(
            T={
                **task("fail"),
                "Catch": [{"ErrorEquals": ["CustomError"], "ResultPath": "$.error", "Next": "Handled"}],
                "End": True,
            },
            Handled={
                "Type": "Pass",
                "Parameters": {"caught.$": "$.error.Error", "message.$": "$.message"},
                "End": True,
            },
        ),
        ok({"caught": "CustomError", "message": "boom"}),
        {"message": "boom"},
    ),
    Case(
        "catchers are tried in order and States.ALL comes last",
        machine(
            T={
                **task("fail"),
                "Catch": [
                    {"ErrorEquals": ["Other"], "Next": "Wrong"},
                    {"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Right"},
                ],
                "End": True,
            },
            Wrong={"Type": "Fail", "Error": "Wrong"},
            Right={"Type": "Pass", "Result": "right", "End": True},
        ),
        ok("right"),
        {"message": "boom"},
    ),
    Case(
        "an uncaught function error fails the execution",
        machine(T=task("fail", End=True)),
        failed("CustomError"),
        {"message": "boom"},
    ),
    Case(
        "retry until it succeeds",
        machine(
            T={
                **task("flaky"),
                "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                "End": True,
            }
        ),
        ok({"value": {"attempts": 2}}),
        {"key": "retry-ok", "failures": 1},
    ),
    Case(
        "retries exhausted then caught",
        machine(
            T={
                **task("flaky"),
                "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 1, "BackoffRate": 1}],
                "Catch": [{"ErrorEquals": ["Transient"], "Next": "Gave up"}],
                "End": True,
            },
            **{"Gave up": {"Type": "Pass", "Parameters": {"error.$": "$.Error"}, "End": True}},
        ),
        ok({"error": "Transient"}),
        {"key": "retry-exhausted", "failures": 5},
    ),
    Case(
        "max attempts zero never retries",
        machine(T={**task("flaky"), "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}], "End": True}),
        failed("Transient"),
        {"key": "no-retry", "failures": 1},
    ),
    Case(
        "States.ALL does not catch a runtime error",
        machine(
            T={
                **task("echo"),
                "ResultSelector": {"x.$": "$.Payload.nope"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            Caught={"Type": "Succeed"},
        ),
        failed("States.Runtime"),
        {"a": 1},
        moto_differs="LocalStack's interpreter lets States.ALL catch States.Runtime; AWS documents that it cannot",
    ),
    Case(
        "a result path into a non-object is caught as ResultPathMatchFailure",
        machine(
            T={
                **task("echo"),
                "ResultPath": "$.scalar.inner",
                "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "Next": "Caught"}],
                "End": True,
            },
            Caught={"Type": "Pass", "Parameters": {"error.$": "$.Error"}, "End": True},
        ),
        ok({"error": "States.ResultPathMatchFailure"}),
        {"scalar": 3},
        moto_differs="moto raises an uncatchable States.Runtime where AWS documents States.ResultPathMatchFailure",
    ),
    Case(
        "a lambda function ARN resource returns the bare result",
        machine(T={"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double", "End": True}),
        ok({"value": 8}),
        {"value": 4},
    ),
    Case(
        "wait for a task token",
        machine(
            T={
                "Type": "Task",
                "Resource": CALLBACK,
                "Parameters": {
                    "FunctionName": "answer",
                    "Payload": {"token.$": "$$.Task.Token", "output": {"approved": True}},
                },
                "ResultPath": "$.decision",
                "End": True,
            }
        ),
        ok({"request": 1, "decision": {"approved": True}}),
        {"request": 1},
    ),
    Case(
        "a task token failure is caught",
        machine(
            T={
                "Type": "Task",
                "Resource": CALLBACK,
                "Parameters": {"FunctionName": "answer", "Payload": {"token.$": "$$.Task.Token", "fail": "Rejected"}},
                "Catch": [{"ErrorEquals": ["Rejected"], "Next": "No"}],
                "End": True,
            },
            No={"Type": "Pass", "Parameters": {"error.$": "$.Error"}, "End": True},
        ),
        ok({"error": "Rejected"}),
    ),
    # --- Parallel -------------------------------------------------------------------------
    Case(
        "parallel collects branch outputs in order",
        machine(
            P={
                "Type": "Parallel",
                "Branches": [
                    machine(A={"Type": "Pass", "Parameters": {"a.$": "$.n"}, "End": True}),
                    machine(
                        B={
                            **task("double"),
                            "InputPath": "$",
                            "Parameters": {"FunctionName": "double", "Payload": {"value.$": "$.n"}},
                            "End": True,
                        }
                    ),
                ],
                "ResultSelector": {"a.$": "$[0].a", "b.$": "$[1].value.value"},
                "ResultPath": "$.results",
                "End": True,
            }
        ),
        ok({"n": 3, "results": {"a": 3, "b": 6}}),
        {"n": 3},
        moto_differs="moto returns a list for the definite path $[0].a at the root of an array",
    ),
    Case(
        "a failing branch fails the parallel with its error, and Catch sees it",
        machine(
            P={
                "Type": "Parallel",
                "Branches": [
                    machine(Ok={"Type": "Pass", "End": True}),
                    machine(Bad={"Type": "Fail", "Error": "BranchBroke", "Cause": "branch 1"}),
                ],
                "Catch": [{"ErrorEquals": ["BranchBroke"], "ResultPath": "$.error", "Next": "Handled"}],
                "End": True,
            },
            Handled={"Type": "Pass", "OutputPath": "$.error", "End": True},
        ),
        ok({"Error": "BranchBroke", "Cause": "branch 1"}),
    ),
    Case(
        "an uncaught branch failure fails the execution",
        machine(P={"Type": "Parallel", "Branches": [machine(Bad={"Type": "Fail", "Error": "Nope"})], "End": True}),
        failed("Nope"),
    ),
    # --- Map ------------------------------------------------------------------------------
    Case(
        "map over items with a selector and the item context",
        machine(
            M={
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
                "ItemProcessor": machine(
                    Double={
                        **task("double"),
                        "Parameters": {"FunctionName": "double", "Payload": {"value.$": "$.value"}},
                        "ResultSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$.Payload.value"},
                        "End": True,
                    }
                ),
                "ResultPath": "$.doubled",
                "End": True,
            }
        ),
        ok({"items": [1, 2, 3], "tag": "t", "doubled": [{"i": 0, "v": 2}, {"i": 1, "v": 4}, {"i": 2, "v": 6}]}),
        {"items": [1, 2, 3], "tag": "t"},
    ),
    Case(
        "map one at a time with the legacy iterator",
        machine(
            M={"Type": "Map", "MaxConcurrency": 1, "Iterator": machine(Id={"Type": "Pass", "End": True}), "End": True}
        ),
        ok(["a", "b"]),
        ["a", "b"],
    ),
    Case(
        "map over nothing",
        machine(
            M={
                "Type": "Map",
                "ItemsPath": "$.none",
                "ItemProcessor": machine(Id={"Type": "Pass", "End": True}),
                "End": True,
            }
        ),
        ok([]),
        {"none": []},
    ),
    Case(
        "a failing iteration fails the map",
        machine(
            M={
                "Type": "Map",
                "ItemProcessor": machine(
                    C={
                        "Type": "Choice",
                        "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
                        "Default": "Good",
                    },
                    Bad={"Type": "Fail", "Error": "TwoIsBad"},
                    Good={"Type": "Succeed"},
                ),
                "Catch": [{"ErrorEquals": ["TwoIsBad"], "Next": "Caught"}],
                "End": True,
            },
            Caught={"Type": "Pass", "Parameters": {"error.$": "$.Error"}, "End": True},
        ),
        ok({"error": "TwoIsBad"}),
        [1, 2, 3],
    ),
    Case(
        "a map's items path must select an array",
        machine(
            M={
                "Type": "Map",
                "ItemsPath": "$.n",
                "ItemProcessor": machine(Id={"Type": "Pass", "End": True}),
                "End": True,
            }
        ),
        failed("States.QueryEvaluationError"),
        {"n": 1},
    ),
    Case(
        "tolerated failures let an inline map succeed",
        machine(
            M={
                "Type": "Map",
                "ToleratedFailureCount": 1,
                "ItemProcessor": machine(
                    C={
                        "Type": "Choice",
                        "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
                        "Default": "Good",
                    },
                    Bad={"Type": "Fail", "Error": "TwoIsBad"},
                    Good={"Type": "Succeed"},
                ),
                "ResultSelector": {"count.$": "States.ArrayLength($)"},
                "End": True,
            }
        ),
        ok({"count": 3}),
        [1, 2, 3],
        moto_differs="moto's inline Map ignores ToleratedFailureCount and fails on the first failed iteration",
    ),
    # --- nested executions ----------------------------------------------------------------
    Case(
        "a nested execution's output comes back as JSON with sync:2",
        machine(
            Child={
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": "${ChildArn}", "Input": {"n.$": "$.n"}},
                "ResultSelector": {"output.$": "$.Output", "status.$": "$.Status"},
                "End": True,
            }
        ),
        ok({"output": {"doubled": 8}, "status": "SUCCEEDED"}),
        {"n": 4},
        moto_differs="moto 5.2.5 passes the PascalCase StartExecution parameters to botocore unconverted (KeyError 'StateMachineArn')",
    ),
]

# The machine the nested-execution case starts, created beside every case as "conformance-child".
CHILD_MACHINE = machine(Double={"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": True})
