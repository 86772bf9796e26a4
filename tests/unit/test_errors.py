"""The one error hierarchy (stepline/errors.py): one name per error, statuses mapped in the API
only, and no error recognised by its text."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections import Counter
from pathlib import Path

import pytest

import stepline
from stepline.actions.approval import AlreadyDecided, ApprovalExpired, DecisionRefused, NoSuchApproval
from stepline.actions.errors import ACTION_FAILURES, action_error_names, error_named
from stepline.api.problems import ApiProblem
from stepline.definition import DefinitionError
from stepline.engine import AslDefinitionError
from stepline.errors import ConfigurationError, SteplineError

PACKAGE = Path(stepline.__file__).parent


def _every_error() -> list[type[SteplineError]]:
    for module in pkgutil.walk_packages(stepline.__path__, "stepline."):
        if not module.name.endswith("__main__"):  # running it is `stepline` itself
            importlib.import_module(module.name)
    found: list[type[SteplineError]] = []
    waiting: list[type[SteplineError]] = [SteplineError]
    while waiting:
        kind = waiting.pop()
        found.append(kind)
        waiting += [sub for sub in kind.__subclasses__() if sub not in found]
    return found


def test_no_two_errors_of_the_package_share_a_name() -> None:
    # Given every module of the package loaded
    # When every SteplineError is listed by name
    names = Counter(kind.__name__ for kind in _every_error() if kind.__module__.startswith("stepline."))
    # Then no name is used twice: Retry and Catch, logs and readers tell errors apart by name
    assert [name for name, count in names.items() if count > 1] == []
    # and the two definition errors that once shared a name are both in the hierarchy
    assert issubclass(DefinitionError, SteplineError)
    assert issubclass(AslDefinitionError, SteplineError)


def test_configuration_error_is_shared_and_still_a_name_step_functions_sees() -> None:
    # Given the contract of actions/errors.py
    # Then ConfigurationError is one of the names an action raises on purpose
    assert "ConfigurationError" in action_error_names()
    assert "TransientActionError" in action_error_names()
    assert ConfigurationError in ACTION_FAILURES
    # and an attempt that recorded it raises the very same class again
    again = error_named("ConfigurationError", "FunctionName is missing")
    assert type(again) is ConfigurationError
    assert str(again) == "FunctionName is missing"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NoSuchApproval("there is no approval x"), 404),
        (AlreadyDecided("this approval was already approved by ana"), 409),
        (ApprovalExpired("this approval expired"), 410),
        (ConfigurationError("STEPLINE_API_URL is not set"), 503),
        (DefinitionError("p.yaml", []), 400),
    ],
)
def test_the_api_maps_each_kind_of_domain_error_to_its_status(error: SteplineError, status: int) -> None:
    # Given a domain error, which carries no HTTP status of its own
    assert not hasattr(error, "status")
    # When the API answers it
    problem = ApiProblem.of(error, page=True)
    # Then its kind picks the status and its message is the detail, unchanged
    assert (problem.status, problem.detail, problem.page) == (status, str(error), True)
    if isinstance(error, DecisionRefused):
        assert ApiProblem.of(error, "Not decided").title == "Not decided"


def _text_matches(tree: ast.AST) -> list[int]:
    """Lines comparing a caught error's text: ``str(error) == …``, ``… in error.args[0]``, or
    one of its attributes against a sentence (``error.reason == "no such file"``)."""
    caught = {node.name for node in ast.walk(tree) if isinstance(node, ast.ExceptHandler) and node.name}

    def of_caught(node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in caught

    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        has_text = any(isinstance(side, ast.Constant) and isinstance(side.value, str) for side in sides)
        for side in sides:
            text_of_error = (
                isinstance(side, ast.Call)
                and isinstance(side.func, ast.Name)
                and side.func.id == "str"
                and any(of_caught(a) for a in side.args)
            )
            args_of_error = (
                isinstance(side, ast.Subscript) and isinstance(side.value, ast.Attribute) and side.value.attr == "args"
            )
            attribute_as_text = has_text and isinstance(side, ast.Attribute) and of_caught(side.value)
            if text_of_error or args_of_error or attribute_as_text:
                lines.append(node.lineno)
                break
    return lines


# AWS's words, not ours: CloudFormation answers DescribeStacks for a missing stack with the
# generic ValidationError code, and only its message ("Stack with id X does not exist") says why.
AWS_MESSAGES = {
    "adapters/aws/problems.py": 1,  # `stepline deploy` reads AWS errors through it
    # The same ValidationError for a missing stack, and for an update with nothing to change
    # ("No updates are to be performed."), which CodePipeline counts a success.
    "adapters/aws/cloudformation.py": 2,
    # InvalidParameterValue for a version label taken (by a retried attempt's own version).
    "adapters/aws/beanstalk.py": 1,
}


def test_no_module_recognises_an_error_by_its_text() -> None:
    # Given every module of the package and every handler
    modules = [*PACKAGE.rglob("*.py"), *(PACKAGE.parents[2] / "functions").rglob("*.py")]
    # When their comparisons are read
    found = {
        str(path.relative_to(PACKAGE) if path.is_relative_to(PACKAGE) else path): len(lines)
        for path in modules
        if (lines := _text_matches(ast.parse(path.read_text())))
    }
    # Then none compares a caught error's text (errors are told apart by type), but where AWS's
    # own message is the only sign
    assert found == AWS_MESSAGES


def test_the_text_check_sees_a_message_compared() -> None:
    # Given code that recognises an error by its sentence (what api/approvals.py once did)
    code = "try:\n    f()\nexcept ValueError as error:\n    if str(error) == 'the link has expired':\n        pass\n"
    # Then the check finds it
    assert _text_matches(ast.parse(code)) == [4]
    # and so it does an attribute compared with a sentence (what buildspec.py once did)
    code = "try:\n    f()\nexcept OSError as error:\n    x = 'gone' if error.reason == 'no such file' else ''\n"
    assert _text_matches(ast.parse(code)) == [4]
    # but not a number or a code compared
    code = "try:\n    f()\nexcept OSError as error:\n    x = error.errno in FULL or error.status == 401\n"
    assert _text_matches(ast.parse(code)) == []
