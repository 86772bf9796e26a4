"""ASL definitions run on the embedded engine and on moto's interpreter, with what AWS documents.

Each case names the outcome it must have (``expect``): status, and output or error (and
cause, where AWS's wording is the point). Both engines must produce it. Where moto 5.2.5 is
known to differ from AWS, ``moto_differs`` says how, and only the documented outcome is
asserted (and that moto still differs, so the note is removed when moto is fixed); where
moto cannot run a case to its end at all, ``moto_skip`` says why and only the engine runs it.

The cases after "divergences" each reproduce one of the departures from AWS listed in issue
19, and those after them the features it asked for (variables, JSONata, distributed maps),
written from AWS's documentation: the Step Functions developer guide's pages on intrinsic
functions, error handling, "Passing data between states with variables", "Transforming data
with JSONata" and the Distributed Map, and the States Language specification.

Lambda functions used by the cases (same behaviour on both engines; see harness.py):
``echo`` returns its event; ``fail`` raises CustomError(event["message"]); ``double`` returns
{"value": event["value"] * 2}; ``flaky`` fails with Transient until called event["failures"]
+ 1 times for event["key"]; ``answer`` sends SendTaskSuccess (or Failure) for event["token"];
``raw`` answers with the bytes of event["text"]; ``big`` returns {"blob": "x" * event["size"]}.
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
    moto_skip: str | None = None
    # S3 objects the case reads, "bucket/key" -> body (the engine: a folder per bucket; moto: its S3).
    objects: dict[str, str] = field(default_factory=dict)


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


def entered_at(state: str, event: int, cause: str) -> str:
    """AWS's cause for the interpreter's own errors (as recorded on AWS: "An error occurred while
    executing the state 'Check Address' (entered at the event id #7). The JSONPath …")."""
    return f"An error occurred while executing the state '{state}' (entered at the event id #{event}). {cause}"


def jsonata(**states: dict[str, Any]) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", **machine(**states)}


NO_SDK_METADATA = "moto's lambda:invoke result has no SdkHttpMetadata or SdkResponseMetadata"
DISTRIBUTED = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}}


# The objects the ItemReader cases read, in the bucket "conformance".
S3_OBJECTS = {
    "conformance/people.csv": "id,name\n1,ann\n2,bob\n",
    "conformance/numbers.json": '[{"n": 1}, {"n": 2}, {"n": 3}]',
    "conformance/numbers.jsonl": '{"n": 1}\n{"n": 2}\n{"n": 3}\n',
}


def reader(key: str, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": config,
        "Parameters": {"Bucket": "conformance", "Key": key},
    }


def distributed_over(item_reader: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A distributed Map whose children pass their item on, its items read by ``item_reader``."""
    return machine(
        Each={
            "Type": "Map",
            "ItemReader": item_reader,
            "ItemProcessor": {**DISTRIBUTED, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            "End": True,
            **fields,
        }
    )


CASES += [
    # --- divergences (issue 19) -----------------------------------------------------------
    Case(
        "1 States.TaskFailed matches a task's error",
        machine(
            T={
                **task("fail"),
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            Caught={"Type": "Pass", "Parameters": {"error.$": "$.error.Error"}, "End": True},
        ),
        ok({"error": "CustomError"}),
        {"message": "boom"},
    ),
    Case(
        "2 a task's OutputPath that selects nothing fails the execution with States.Runtime",
        machine(T={**task("echo"), "OutputPath": "$.nope", "End": True}),
        failed(
            "States.Runtime",
            entered_at("T", 2, "Invalid path '$.nope' : No results for path: $['nope']"),
        ),
        {"a": 1},
        moto_differs="moto names the task's last event (TaskSucceeded, #5), not the event it entered at (#2)",
    ),
    Case(
        "3 $$ in InputPath, OutputPath and a Choice's Variable reads the context object",
        machine(
            In={"Type": "Pass", "InputPath": "$$.Execution.Input.inner", "Next": "Choose"},
            Choose={
                "Type": "Choice",
                "Choices": [{"Variable": "$$.State.Name", "StringEquals": "Choose", "Next": "Out"}],
                "Default": "Wrong",
            },
            Out={"Type": "Pass", "OutputPath": "$$.StateMachine.Name", "End": True},
            Wrong={"Type": "Fail", "Error": "ContextNotRead"},
        ),
        ok("conformance"),
        {"inner": {"k": 1}},
    ),
    Case(
        "4 States.MathAdd rounds non-integers",
        machine(P={"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.x, $.y)"}, "End": True}),
        ok({"sum": 3}),
        {"x": 1.49, "y": 1.5},
    ),
    Case(
        "4 States.MathRandom rounds non-integer bounds",
        machine(
            R={"Type": "Pass", "Parameters": {"r.$": "States.MathRandom($.low, $.high)"}, "Next": "Check"},
            Check={
                "Type": "Choice",
                "Choices": [
                    {
                        "Or": [{"Variable": "$.r", "NumericEquals": 1}, {"Variable": "$.r", "NumericEquals": 2}],
                        "Next": "Rounded",
                    }
                ],
                "Default": "NotRounded",
            },
            Rounded={"Type": "Succeed"},
            NotRounded={"Type": "Fail", "Error": "NotRounded"},
        ),
        {"status": "SUCCEEDED"},
        {"low": 1.4, "high": 1.6},
    ),
    intrinsic("States.Format('{} and {}', $.o, States.Array(1, 'a', true))", "{x=1} and [1, a, true]"),
    Case(
        "6 a SecondsPath of 1.5 is States.Runtime",
        machine(W={"Type": "Wait", "SecondsPath": "$.s", "End": True}),
        failed(
            "States.Runtime",
            entered_at("W", 2, "The SecondsPath parameter cannot be parsed as a long value: $.s == 1.5"),
        ),
        {"s": 1.5},
    ),
    Case(
        "6 a Wait about 69 years long is States.Runtime",
        machine(W={"Type": "Wait", "Timestamp": "2095-06-01T00:00:00Z", "End": True}),
        failed("States.Runtime", entered_at("W", 2, "Wait state delay is too long")),
        moto_skip="moto waits for the timestamp (decades) instead of refusing it",
    ),
    Case(
        "7 a MaxConcurrencyPath that is not a number is States.Runtime",
        machine(
            M={
                "Type": "Map",
                "MaxConcurrencyPath": "$.limit",
                "ItemsPath": "$.items",
                "ItemProcessor": machine(Id={"Type": "Pass", "End": True}),
                "End": True,
            }
        ),
        failed(
            "States.Runtime",
            entered_at(
                "M", 2, 'The MaxConcurrencyPath field refers to value "x" which is not a valid integer: $.limit'
            ),
        ),
        {"limit": "x", "items": [1]},
    ),
    Case(
        "8 a Fail state without Error fails with no error",
        machine(F={"Type": "Fail", "Cause": "why"}),
        {"status": "FAILED", "error": None, "cause": "why"},
    ),
    Case(
        "9 lambda:invoke results carry the SDK's metadata",
        machine(
            T={
                "Type": "Task",
                "Resource": LAMBDA,
                "Parameters": {"FunctionName": "echo", "Payload.$": "$"},
                "Next": "Read",
            },
            Read={
                "Type": "Pass",
                "Parameters": {
                    "http.$": "$.SdkHttpMetadata.HttpStatusCode",
                    "type.$": "$.SdkHttpMetadata.HttpHeaders.Content-Type",
                    "hasRequestId.$": "States.ArrayContains(States.Array($.SdkResponseMetadata.RequestId), null)",
                    "status.$": "$.StatusCode",
                    "payload.$": "$.Payload",
                },
                "End": True,
            },
        ),
        ok({"http": 200, "type": "application/json", "hasRequestId": False, "status": 200, "payload": {"a": 1}}),
        {"a": 1},
        moto_differs=NO_SDK_METADATA,
    ),
    Case(
        "10 a handler's bytes are the payload as it is",
        machine(T={**task("raw"), "Parameters": {"FunctionName": "raw", "Payload": {"text": '"Hi"'}}, "End": True}),
        ok({"value": "Hi"}),
    ),
    Case(
        "10 a result over 256 KiB is States.DataLimitExceeded, which States.ALL catches",
        machine(
            T={
                **task("big"),
                "Parameters": {"FunctionName": "big", "Payload": {"size": 300_000}},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            Caught={"Type": "Pass", "Parameters": {"error.$": "$.Error"}, "End": True},
        ),
        ok({"error": "States.DataLimitExceeded"}),
    ),
    Case(
        "11 the execution has a role",
        machine(
            R={"Type": "Pass", "Parameters": {"role.$": "$$.Execution.RoleArn"}, "Next": "Check"},
            Check={
                "Type": "Choice",
                "Choices": [{"Variable": "$.role", "StringMatches": "arn:aws:iam::*:role/*", "Next": "Yes"}],
                "Default": "No",
            },
            Yes={"Type": "Succeed"},
            No={"Type": "Fail", "Error": "NoRole"},
        ),
        {"status": "SUCCEEDED"},
    ),
    Case(
        "12 a path in Parameters that selects nothing: AWS's cause",
        machine(P={"Type": "Pass", "Parameters": {"x.$": "$.nope"}, "End": True}),
        failed(
            "States.Runtime",
            entered_at(
                "P",
                2,
                "The JSONPath '$.nope' specified for the field 'x.$' could not be found in the input '{\"a\":1}'",
            ),
        ),
        {"a": 1},
        moto_differs="moto writes the input with spaces; AWS writes it compact ('{\"flagged\":false}' as recorded)",
    ),
    Case(
        "12 an InputPath that selects nothing: AWS's cause",
        machine(P={"Type": "Pass", "Next": "Q"}, Q={"Type": "Pass", "InputPath": "$.nope", "End": True}),
        failed("States.Runtime", entered_at("Q", 4, "Invalid path '$.nope' : No results for path: $['nope']")),
    ),
    # --- variables (the guide's "Passing data between states with variables") --------------
    Case(
        "variables are assigned in JSONPath and read as $name",
        machine(
            Set={
                "Type": "Pass",
                "Assign": {"greeting.$": "$.word", "count": 2, "nested": {"w.$": "$.word"}},
                "Next": "Use",
            },
            Use={
                "Type": "Pass",
                "Parameters": {
                    "g.$": "$greeting",
                    "w.$": "$nested.w",
                    "f.$": "States.Format('{} x{}', $greeting, $count)",
                },
                "End": True,
            },
        ),
        ok({"g": "hi", "w": "hi", "f": "hi x2"}),
        {"word": "hi"},
    ),
    Case(
        "a task's Assign reads its result before ResultSelector",
        machine(
            T={
                **task("echo"),
                "Assign": {"payload.$": "$.Payload", "status.$": "$.StatusCode"},
                "ResultSelector": {"ignored": True},
                "ResultPath": None,
                "Next": "Use",
            },
            Use={"Type": "Pass", "Parameters": {"p.$": "$payload", "s.$": "$status"}, "End": True},
        ),
        ok({"p": {"a": 1}, "s": 200}),
        {"a": 1},
    ),
    Case(
        "assignments take effect as the state leaves, all together",
        machine(
            One={"Type": "Pass", "Assign": {"x": 1}, "Next": "Two"},
            Two={"Type": "Pass", "Assign": {"x": 2, "old.$": "$x"}, "Next": "Three"},
            Three={"Type": "Pass", "Parameters": {"x.$": "$x", "old.$": "$old"}, "End": True},
        ),
        ok({"x": 2, "old": 1}),
    ),
    Case(
        "a Choice reads a variable, and its rule assigns one",
        machine(
            Set={"Type": "Pass", "Assign": {"cfg": {"mode": "fast"}}, "Next": "Choose"},
            Choose={
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$cfg.mode", "StringEquals": "fast", "Assign": {"picked": "fast"}, "Next": "Done"}
                ],
                "Default": "Slow",
            },
            Done={"Type": "Pass", "Parameters": {"picked.$": "$picked"}, "End": True},
            Slow={"Type": "Fail", "Error": "Slow"},
        ),
        ok({"picked": "fast"}),
        moto_differs="moto ignores the Assign of a Choice rule (it applies only the state's, on Default)",
    ),
    Case(
        "a catcher's Assign reads the error output",
        machine(
            T={
                **task("fail"),
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Assign": {"error.$": "$.Error"},
                        "ResultPath": None,
                        "Next": "After",
                    }
                ],
                "End": True,
            },
            After={"Type": "Pass", "Parameters": {"error.$": "$error", "message.$": "$.message"}, "End": True},
        ),
        ok({"error": "CustomError", "message": "boom"}),
        {"message": "boom"},
    ),
    Case(
        "parallel branches read outer variables and assign their own",
        machine(
            Set={"Type": "Pass", "Assign": {"outer": 1}, "Next": "Both"},
            Both={
                "Type": "Parallel",
                "Branches": [
                    machine(
                        Inner={"Type": "Pass", "Assign": {"inner": 2}, "Next": "Read"},
                        Read={"Type": "Pass", "Parameters": {"o.$": "$outer", "i.$": "$inner"}, "End": True},
                    )
                ],
                "Assign": {"fromBranch.$": "$[0].i"},
                "Next": "After",
            },
            After={"Type": "Pass", "Parameters": {"branch.$": "$[0]", "fromBranch.$": "$fromBranch"}, "End": True},
        ),
        ok({"branch": {"o": 1, "i": 2}, "fromBranch": 2}),
        moto_differs="moto returns a list for the definite path $[0].i at the root of an array",
    ),
    Case(
        "what a branch assigns is gone when it ends",
        machine(
            Both={
                "Type": "Parallel",
                "Branches": [machine(Inner={"Type": "Pass", "Assign": {"inner": 2}, "End": True})],
                "Next": "After",
            },
            After={"Type": "Pass", "Parameters": {"i.$": "$inner"}, "End": True},
        ),
        failed("States.Runtime"),
        moto_differs="moto reads a variable no scope holds as null instead of failing",
    ),
    Case(
        "an iteration cannot assign an outer variable",
        machine(
            Set={"Type": "Pass", "Assign": {"x": 1}, "Next": "Each"},
            Each={
                "Type": "Map",
                "ItemProcessor": machine(Inner={"Type": "Pass", "Assign": {"x": 2}, "End": True}),
                "End": True,
            },
        ),
        failed("States.Runtime"),
        [1],
    ),
    Case(
        "one Assign over 256 KiB is States.DataLimitExceeded",
        machine(Set={"Type": "Pass", "Assign": {"a.$": "$.s", "b.$": "$.s"}, "End": True}),
        failed("States.DataLimitExceeded"),
        {"s": "x" * 140_000},
        moto_differs="moto does not limit the size of variables",
    ),
    # --- JSONata (the guide's "Transforming data with JSONata") ------------------------------
    Case(
        "a JSONata Pass computes its Output",
        jsonata(P={"Type": "Pass", "Output": "{% $states.input.a + 1 %}", "End": True}),
        ok(2),
        {"a": 1},
    ),
    Case(
        "a JSONata state in a JSONPath machine",
        machine(
            Before={"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "Compute"},
            Compute={
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": {"twice": "{% $states.input.n * 2 %}"},
                "End": True,
            },
        ),
        ok({"twice": 8}),
        {"n": 4},
    ),
    Case(
        "a JSONata task: Arguments, $states.result and Output",
        jsonata(
            T={
                "Type": "Task",
                "Resource": LAMBDA,
                "Arguments": {"FunctionName": "double", "Payload": {"value": "{% $states.input.n %}"}},
                "Output": {"doubled": "{% $states.result.Payload.value %}", "input": "{% $states.input %}"},
                "End": True,
            }
        ),
        ok({"doubled": 8, "input": {"n": 4}}),
        {"n": 4},
    ),
    Case(
        "a JSONata Choice Condition",
        jsonata(
            C={
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.n > 3 %}", "Output": "big", "Next": "Done"}],
                "Default": "Other",
                "Output": "small",
            },
            Done={"Type": "Succeed"},
            Other={"Type": "Fail", "Error": "Small"},
        ),
        ok("big"),
        {"n": 4},
    ),
    Case(
        "JSONata Assign and Output read the variables from before the state",
        jsonata(
            One={"Type": "Pass", "Assign": {"x": "{% $states.input.a %}"}, "Next": "Two"},
            Two={
                "Type": "Pass",
                "Assign": {"x": "{% $x + 1 %}", "y": "{% $x %}"},
                "Output": "{% $x %}",
                "Next": "Three",
            },
            Three={
                "Type": "Pass",
                "Output": {"before": "{% $states.input %}", "x": "{% $x %}", "y": "{% $y %}"},
                "End": True,
            },
        ),
        ok({"before": 1, "x": 2, "y": 1}),
        {"a": 1},
        moto_differs="moto evaluates Output after Assign has bound the new values; AWS evaluates both before",
    ),
    Case(
        "{% %} in Items, ItemSelector, MaxConcurrency, Wait Seconds and TimeoutSeconds",
        jsonata(
            Each={
                "Type": "Map",
                "Items": "{% $states.input.items %}",
                "MaxConcurrency": "{% $states.input.limit %}",
                "ItemSelector": {
                    "v": "{% $states.context.Map.Item.Value %}",
                    "i": "{% $states.context.Map.Item.Index %}",
                },
                "ItemProcessor": {
                    "StartAt": "Pause",
                    "States": {
                        "Pause": {"Type": "Wait", "Seconds": "{% $states.input.i %}", "Next": "Double"},
                        "Double": {
                            "Type": "Task",
                            "Resource": LAMBDA,
                            "TimeoutSeconds": "{% 30 + $states.input.i %}",
                            "Arguments": {"FunctionName": "double", "Payload": {"value": "{% $states.input.v %}"}},
                            "Output": "{% $states.result.Payload.value %}",
                            "End": True,
                        },
                    },
                },
                "Output": "{% $sum($states.result) %}",
                "End": True,
            }
        ),
        ok(12),
        {"items": [1, 2, 3], "limit": 2},
    ),
    Case(
        "a JSONata catcher reads $states.errorOutput",
        jsonata(
            T={
                "Type": "Task",
                "Resource": LAMBDA,
                "Arguments": {"FunctionName": "fail", "Payload": {"message": "boom"}},
                "Catch": [
                    {
                        "ErrorEquals": ["CustomError"],
                        "Assign": {"caught": "{% $states.errorOutput.Error %}"},
                        "Output": "{% $states.errorOutput %}",
                        "Next": "After",
                    }
                ],
                "End": True,
            },
            After={
                "Type": "Pass",
                "Output": {"caught": "{% $caught %}", "error": "{% $states.input.Error %}"},
                "End": True,
            },
        ),
        ok({"caught": "CustomError", "error": "CustomError"}),
    ),
    Case(
        "a JSONata expression that returns nothing is States.QueryEvaluationError",
        jsonata(P={"Type": "Pass", "Output": "{% $states.input.missing %}", "End": True}),
        failed("States.QueryEvaluationError"),
        {"a": 1},
    ),
    Case(
        "Step Functions' own JSONata functions",
        jsonata(
            P={
                "Type": "Pass",
                "Output": {
                    "partition": "{% $partition([1, 2, 3], 2) %}",
                    "range": "{% $range(0, 6, 3) %}",
                    "hash": "{% $hash('Stepline', 'MD5') %}",
                    "parse": "{% $parse('{\"a\": [1]}') %}",
                },
                "End": True,
            }
        ),
        ok(
            {
                "partition": [[1, 2], [3]],
                "range": [0, 3, 6],
                "hash": "966d8115f9ae0f2d9ae32546648c3bef",
                "parse": {"a": [1]},
            }
        ),
        moto_differs="moto's interpreter has none of the JSONata functions Step Functions adds",
    ),
    Case(
        "a JSONata Fail computes its Error and Cause",
        jsonata(F={"Type": "Fail", "Error": "{% 'Code' & $states.input.code %}", "Cause": "{% $states.input.why %}"}),
        failed("Code42", "because"),
        {"code": 42, "why": "because"},
    ),
    # --- distributed maps (the guide's "Using Map state in Distributed mode") ---------------
    Case(
        "a distributed map over inline items, selected and batched",
        machine(
            Each={
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"v.$": "$$.Map.Item.Value"},
                "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"tag.$": "$.tag"}},
                "ItemProcessor": {
                    **DISTRIBUTED,
                    **machine(
                        Count={
                            "Type": "Pass",
                            "Parameters": {
                                "n.$": "States.ArrayLength($.Items)",
                                "tag.$": "$.BatchInput.tag",
                                "first.$": "$.Items[0].v",
                            },
                            "End": True,
                        }
                    ),
                },
                "End": True,
            }
        ),
        ok([{"n": 2, "tag": "t", "first": "a"}, {"n": 1, "tag": "t", "first": "c"}]),
        {"items": ["a", "b", "c"], "tag": "t"},
        moto_differs="moto's parser refuses ItemBatcher",
    ),
    Case(
        "a distributed map tolerates the failures it is told to",
        machine(
            Each={
                "Type": "Map",
                "ToleratedFailurePercentage": 50,
                "ItemProcessor": {
                    **DISTRIBUTED,
                    **machine(
                        C={
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
                            "Default": "Good",
                        },
                        Bad={"Type": "Fail", "Error": "TwoIsBad"},
                        Good={"Type": "Succeed"},
                    ),
                },
                "ResultSelector": {"first.$": "$[0]", "third.$": "$[2]"},
                "End": True,
            }
        ),
        ok({"first": 1, "third": 3}),
        [1, 2, 3],
        moto_differs="moto's parser refuses a whole-number ToleratedFailurePercentage",
    ),
    Case(
        "a distributed map fails beyond its tolerance with States.ExceedToleratedFailureThreshold",
        machine(
            Each={
                "Type": "Map",
                "ItemProcessor": {
                    **DISTRIBUTED,
                    **machine(
                        C={
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
                            "Default": "Good",
                        },
                        Bad={"Type": "Fail", "Error": "TwoIsBad"},
                        Good={"Type": "Succeed"},
                    ),
                },
                "End": True,
            }
        ),
        failed("States.ExceedToleratedFailureThreshold"),
        [1, 2, 3],
        moto_differs="moto's distributed map succeeds when a child fails, with null for its output",
    ),
    # --- the state machine's own TimeoutSeconds (the States Language: "Top-level fields") ------------
    Case(
        "an execution running past its machine's TimeoutSeconds times out",
        {"TimeoutSeconds": 1, **machine(W={"Type": "Wait", "Seconds": 25, "End": True})},
        {"status": "TIMED_OUT"},
    ),
    # --- what Step Functions refuses in JSONata (the States Language; "Transforming data with JSONata") --
    Case(
        "a jsonata expression reading a field at its top level is refused",
        {"QueryLanguage": "JSONata", **machine(P={"Type": "Pass", "Output": "{% phone %}", "End": True})},
        {"status": "REFUSED"},
        {"phone": "555"},
        moto_differs="moto accepts the definition and runs it",
    ),
    Case(
        "a jsonata operator added after 2.0.6 is refused",
        {
            "QueryLanguage": "JSONata",
            **machine(P={"Type": "Pass", "Output": "{% $states.input.a ?? 0 %}", "End": True}),
        },
        {"status": "REFUSED"},
        moto_differs="moto accepts the definition (its JSONata bridge, served here by jsonatapy, runs '??')",
    ),
    # --- a distributed map's ItemReader and ResultWriter ("ItemReader (Map)", "ResultWriter (Map)") --
    Case(
        "an item reader gives each row of a csv object, its first row naming the columns",
        distributed_over(reader("people.csv", {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})),
        ok([{"id": "1", "name": "ann"}, {"id": "2", "name": "bob"}]),
        objects=S3_OBJECTS,
    ),
    Case(
        "an item reader gives each element of a json array, at most MaxItems of them",
        distributed_over(reader("numbers.json", {"InputType": "JSON", "MaxItems": 2})),
        ok([{"n": 1}, {"n": 2}]),
        objects=S3_OBJECTS,
    ),
    Case(
        "an item reader gives each line of a json lines object",
        distributed_over(reader("numbers.jsonl", {"InputType": "JSONL"})),
        ok([{"n": 1}, {"n": 2}, {"n": 3}]),
        objects=S3_OBJECTS,
        moto_differs="moto 5.2.5's parser knows no JSONL InputType (it refuses the definition)",
    ),
    Case(
        "an item reader lists the objects under a prefix",
        distributed_over(
            {
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket": "conformance", "Prefix": "numbers."},
            },
            ItemSelector={"key.$": "$$.Map.Item.Value.Key", "size.$": "$$.Map.Item.Value.Size"},
        ),
        ok([{"key": "numbers.json", "size": 30}, {"key": "numbers.jsonl", "size": 27}]),
        objects=S3_OBJECTS,
    ),
    Case(
        "an object that cannot be read fails the map with States.ItemReaderFailed",
        distributed_over(reader("missing.json", {"InputType": "JSON"})),
        failed("States.ItemReaderFailed"),
        objects=S3_OBJECTS,
        moto_differs="moto fails the map with States.Runtime, where the guide names States.ItemReaderFailed",
    ),
    Case(
        "a result writer's output names the bucket and the manifest it wrote",
        distributed_over(
            reader("numbers.json", {"InputType": "JSON"}),
            ResultWriter={
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "conformance", "Prefix": "runs"},
            },
            ResultSelector={
                "bucket.$": "$.ResultWriterDetails.Bucket",
                "run.$": "States.ArrayLength(States.StringSplit($.MapRunArn, ':'))",
            },
        ),
        ok({"bucket": "conformance", "run": 8}),
        objects=S3_OBJECTS,
    ),
]

# The machine the nested-execution case starts, created beside every case as "conformance-child".
CHILD_MACHINE = machine(Double={"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": True})
