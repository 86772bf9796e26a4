"""The tests' IAM evaluator (tests/awsstack/iam.py) decides as AWS's documented logic does:
these cases are the ones the stack's policies rely on."""

from __future__ import annotations

import pytest

from tests.awsstack.iam import Request, evaluate

FUNCTIONS = "arn:aws:lambda:us-east-1:123456789012:function:*"
TAGGED = {"StringEquals": {"aws:ResourceTag/stepline": "enabled"}}


def allow(action: object, resource: object, condition: object | None = None) -> dict[str, object]:
    statement: dict[str, object] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"Statement": list(statements)}


def test_nothing_is_allowed_unless_a_statement_allows_it() -> None:
    assert evaluate([], Request("s3:GetObject", "arn:aws:s3:::b/k")) == "implicitly denied"


def test_actions_match_case_insensitively_and_by_wildcard_resources_by_glob() -> None:
    documents = [policy(allow(["S3:getobject"], "arn:aws:s3:::bucket/*"), allow("logs:Put*", "*"))]
    assert evaluate(documents, Request("s3:GetObject", "arn:aws:s3:::bucket/a/b.zip")) == "allowed"
    assert evaluate(documents, Request("s3:GetObject", "arn:aws:s3:::bucket-2/a.zip")) == "implicitly denied"
    assert evaluate(documents, Request("s3:PutObject", "arn:aws:s3:::bucket/a.zip")) == "implicitly denied"
    assert evaluate(documents, Request("logs:PutLogEvents", "arn:aws:logs:x")) == "allowed"


def test_resources_are_case_sensitive_and_a_star_crosses_colons_and_slashes() -> None:
    documents = [policy(allow("lambda:GetAlias", FUNCTIONS))]
    assert evaluate(documents, Request("lambda:GetAlias", FUNCTIONS[:-1] + "app:live")) == "allowed"
    assert evaluate(documents, Request("lambda:GetAlias", FUNCTIONS.upper()[:-1] + "APP")) == "implicitly denied"


def test_a_tag_condition_needs_the_tag_on_the_resource() -> None:
    documents = [policy(allow("lambda:UpdateFunctionCode", FUNCTIONS, TAGGED))]
    function = FUNCTIONS[:-1] + "app"
    tagged = Request("lambda:UpdateFunctionCode", function, {"aws:ResourceTag/stepline": "enabled"})
    assert evaluate(documents, tagged) == "allowed"
    other = Request("lambda:UpdateFunctionCode", function, {"aws:ResourceTag/stepline": "disabled"})
    assert evaluate(documents, other) == "implicitly denied"
    assert evaluate(documents, Request("lambda:UpdateFunctionCode", function)) == "implicitly denied"


def test_an_explicit_deny_wins_over_any_allow() -> None:
    documents = [
        policy(allow("lambda:UpdateFunctionCode", FUNCTIONS, TAGGED)),
        policy({"Effect": "Deny", "Action": ["lambda:*"], "Resource": FUNCTIONS[:-1] + "stepline-*"}),
    ]
    own = Request("lambda:UpdateFunctionCode", FUNCTIONS[:-1] + "stepline-Api", {"aws:ResourceTag/stepline": "enabled"})
    assert evaluate(documents, own) == "explicitly denied"


@pytest.mark.parametrize(
    ("condition", "context", "decision"),
    [
        (
            {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            {"iam:PassedToService": "ecs-tasks.amazonaws.com"},
            "allowed",
        ),
        (
            {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            {"iam:PassedToService": "lambda.amazonaws.com"},
            "implicitly denied",
        ),
        ({"StringLike": {"s3:prefix": "pipelines/*"}}, {"s3:prefix": "pipelines/a"}, "allowed"),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/stepline-*"}},
            {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/stepline-X"},
            "allowed",
        ),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, "implicitly denied"),
        ({"StringNotEquals": {"aws:ResourceTag/team": "ops"}}, {}, "allowed"),
        ({"StringEqualsIfExists": {"aws:ResourceTag/team": "ops"}}, {}, "allowed"),
        ({"Null": {"aws:ResourceTag/team": "true"}}, {}, "allowed"),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["c", "b"]}, "allowed"),
    ],
)
def test_condition_operators(condition: object, context: dict[str, str], decision: str) -> None:
    assert evaluate([policy(allow("x:Y", "*", condition))], Request("x:Y", "arn:r", context)) == decision


def test_an_operator_it_does_not_know_is_refused_not_guessed() -> None:
    with pytest.raises(NotImplementedError, match="DateGreaterThan"):
        evaluate(
            [policy(allow("x:Y", "*", {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}}))], Request("x:Y", "r")
        )
