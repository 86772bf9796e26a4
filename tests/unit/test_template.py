"""template.yaml: least privilege, and every function wired to a handler and sample events."""

from __future__ import annotations

import json
from typing import Any

from stepline.local.template import load_template
from stepline.triggers.polling import POLL_EVENT
from tests.helpers import EVENTS, REPO, handler_placeholders

TEMPLATE: dict[str, Any] = load_template(REPO / "template.yaml")  # as the local runtime reads it


def allow_statements() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, resource in TEMPLATE["Resources"].items():
        properties = resource.get("Properties", {})
        documents = [policy for policy in properties.get("Policies", []) if isinstance(policy, dict)]
        documents = [document.get("PolicyDocument", document) for document in documents]
        for document in documents:
            for statement in document.get("Statement", []):
                if statement.get("Effect") == "Allow":
                    found.append((name, statement))
    return found


def test_no_policy_statement_allows_every_action() -> None:
    statements = allow_statements()
    assert statements, "the template grants nothing? the walk found no statements"
    for name, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), f"{name} allows {actions}"


def test_every_function_has_its_handler_and_sample_events() -> None:
    functions = {
        name: resource
        for name, resource in TEMPLATE["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert functions
    for name, resource in functions.items():
        folder = REPO / resource["Properties"]["CodeUri"]
        module, handler = resource["Properties"]["Handler"].split(".")
        assert f"def {handler}(" in (folder / f"{module}.py").read_text(), name
        assert list((EVENTS / folder.name).glob("*.json")), f"{name}: no sample events in events/{folder.name}/"


def test_the_lambda_runtime_is_python_3_12() -> None:
    assert TEMPLATE["Globals"]["Function"]["Runtime"] == "python3.12"


def test_the_stack_outputs_every_arn_stepline_deploy_substitutes() -> None:
    from stepline.deploy import EXECUTION_ROLE_OUTPUT, REGISTRY_OUTPUT

    needed = {*handler_placeholders(), EXECUTION_ROLE_OUTPUT, REGISTRY_OUTPUT}
    assert needed <= TEMPLATE["Outputs"].keys(), needed - TEMPLATE["Outputs"].keys()


def test_pipelines_run_under_a_role_that_may_call_exactly_the_action_functions() -> None:

    [invoke] = [
        statement
        for name, statement in allow_statements()
        if name == "PipelineExecutionRole" and statement["Action"] == ["lambda:InvokeFunction"]
    ]
    # A compiled pipeline calls these functions (the nested state machine has its own statement)
    functions = {
        placeholder.removesuffix("Arn") for placeholder in handler_placeholders() if placeholder.endswith("FunctionArn")
    }
    assert {resource["Fn::GetAtt"][0] for resource in invoke["Resource"]} == functions
    assert TEMPLATE["Resources"]["PipelineExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Principal"
    ] == {"Service": "states.amazonaws.com"}


def test_the_readme_shows_sam_local_invoke_for_every_function() -> None:
    readme = (REPO / "README.md").read_text()
    for name, resource in TEMPLATE["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            folder = resource["Properties"]["CodeUri"].strip("/").split("/")[-1]
            assert f"sam local invoke {name} -e events/{folder}/" in readme, name


def test_codecommit_changes_reach_the_trigger_function_and_deletes_do_not() -> None:
    rule = TEMPLATE["Resources"]["TriggerFunction"]["Properties"]["Events"]["RepositoryStateChange"]["Properties"]
    assert rule["Pattern"]["source"] == ["aws.codecommit"]
    assert rule["Pattern"]["detail"]["event"] == ["referenceCreated", "referenceUpdated"]


def test_the_local_runtime_finds_every_placeholder_in_the_template_as_sam_local_would() -> None:
    from stepline.local.template import read_template

    # Given template.yaml, When read as the local runtime reads it
    stack = read_template(REPO)
    # Then every placeholder a compiled pipeline can hold is a handler or a static state machine
    assert set(handler_placeholders()) <= stack.handlers.keys() | stack.machines.keys()
    # And each handler is the function template.yaml deploys, loadable from its CodeUri
    assert stack.handlers["SourceFunctionArn"].folder == REPO / "functions" / "source"
    assert callable(stack.handlers["ApprovalFunctionArn"].load())
    # And the Lambda-deploy machine's substitution points at the deploy handler
    machine = stack.machines["LambdaDeployStateMachineArn"]
    assert machine.substitutions == {"DeployLambdaFunctionArn": "DeployLambdaFunctionArn"}
    assert machine.definition["StartAt"]


def test_the_console_is_served_at_the_root_and_artifacts_come_back_binary() -> None:
    # As SAM transforms it: API Gateway's {proxy+} never matches "/" itself
    from tests.awsstack.template import transformed

    api = transformed()["Resources"]["ServerlessRestApi"]["Properties"]["Body"]
    assert {"/", "/{proxy+}"} <= api["paths"].keys()
    assert api["x-amazon-apigateway-binary-media-types"] == ["*/*"]


def test_every_event_and_async_invocation_ends_in_the_dead_letter_queue_which_raises_an_alarm() -> None:
    from tests.awsstack.template import Stack, transformed

    template = transformed()
    stack = Stack(template)
    queue = stack.get_att("DeadLetters", "Arn")
    rules = list(stack.resources_of("AWS::Events::Rule"))
    assert sorted(name for name, _ in rules) == [
        "CallbacksFunctionBuildStateChange",
        "CallbacksFunctionCodeDeployStateChange",
        "CallbacksFunctionDeploymentStateChange",
        "CallbacksFunctionExecutionStatusChange",
        "CallbacksFunctionStackStatusChange",
        "StatusFunctionPipelineExecutionStateChange",
        "StatusFunctionPipelineExecutionStatus",
        "TriggerFunctionImagePushed",
        "TriggerFunctionObjectCreated",
        "TriggerFunctionPullRequestStateChange",
        "TriggerFunctionRepositoryStateChange",
    ]
    for name, _ in rules:
        [target] = stack.resource(name)["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": queue}, name
    # Functions invoked asynchronously (by EventBridge and Scheduler) send what fails to the queue
    for function in ("CallbacksFunction", "TriggerFunction", "SweeperFunction"):
        assert stack.resource(function)["DeadLetterConfig"] == {"TargetArn": queue}, function
    # EventBridge may write to it for the stack's own rules only
    [statement] = stack.resource("DeadLettersPolicy")["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":rule/stepline-*")
    alarm = stack.resource("DeadLettersAlarm")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": stack.get_att("DeadLetters", "QueueName")}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["AlarmActions"] == [stack.ref("AlertsTopic")]


def test_the_sweeper_runs_every_five_minutes_on_eventbridge_scheduler() -> None:
    from tests.awsstack.template import Stack, transformed

    stack = Stack(transformed())
    schedules = {
        stack.resource(name)["Name"]: stack.resource(name) for name, _ in stack.resources_of("AWS::Scheduler::Schedule")
    }
    assert sorted(schedules) == ["stepline-poll", "stepline-sweeper"]  # one each per stack
    schedule = schedules["stepline-sweeper"]
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    assert schedule["Target"]["Arn"] == stack.get_att("SweeperFunction", "Arn")


def test_polled_sources_are_checked_every_minute_by_the_trigger_function() -> None:
    from tests.awsstack.template import Stack, transformed

    stack = Stack(transformed())
    [poll] = [stack.resource(n) for n, _ in stack.resources_of("AWS::Scheduler::Schedule") if "Poll" in n]
    assert poll["ScheduleExpression"] == "rate(1 minute)"
    assert poll["Target"]["Arn"] == stack.get_att("TriggerFunction", "Arn")
    assert json.loads(poll["Target"]["Input"])["detail-type"] == POLL_EVENT


def test_the_readme_says_sam_build_needs_the_runtime_the_template_names() -> None:
    readme = (REPO / "README.md").read_text()
    aws = readme[readme.index("### On AWS") :]
    runtime = TEMPLATE["Globals"]["Function"]["Runtime"]
    assert f"`{runtime}` on your PATH" in aws
    assert "sam build --use-container" in aws
