"""Least privilege in template.yaml, as SAM transforms it: every grant reaches only the stack's
own resources, the targets a user declares (stack parameters, or the tag stepline=enabled), or
a short list of actions IAM cannot scope (each with its reason). Then the policies are evaluated
(tests/awsstack/iam.py) on concrete requests: Stepline's own functions and state machines are
never deploy or invoke targets, untagged resources are out of reach, tagged ones within."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.awsstack.iam import Request, evaluate
from tests.awsstack.template import ACCOUNT, REGION, Stack, transformed

TAG_CONDITION = {"aws:ResourceTag/stepline": "enabled"}
# Actions IAM gives no resource (or none worth scoping), each with the reason it is granted so.
UNSCOPABLE = {
    "states:SendTaskSuccess": "a task token is its own capability; IAM scopes SendTask* to no resource",
    "states:SendTaskFailure": "a task token is its own capability; IAM scopes SendTask* to no resource",
    "xray:PutTraceSegments": "X-Ray takes no resource",
    "xray:PutTelemetryRecords": "X-Ray takes no resource",
    "xray:GetSamplingRules": "X-Ray takes no resource",
    "xray:GetSamplingTargets": "X-Ray takes no resource",
    "ecs:DescribeTaskDefinition": "ECS task definitions have no resource-level permissions for these",
    "ecs:RegisterTaskDefinition": "ECS task definitions have no resource-level permissions for these",
    "elasticbeanstalk:CreateStorageLocation": "the account's one Elastic Beanstalk bucket; it takes no resource",
    **{
        f"logs:{action}": "CloudWatch Logs' log-delivery APIs take no resource (Step Functions' documented policy)"
        for action in (
            "CreateLogDelivery",
            "GetLogDelivery",
            "UpdateLogDelivery",
            "DeleteLogDelivery",
            "ListLogDeliveries",
            "PutResourcePolicy",
            "DescribeResourcePolicies",
            "DescribeLogGroups",
        )
    },
}
# Read-only grants across the account, each with its reason.
READ_ONLY_ACROSS_ACCOUNT = {
    ("states:DescribeExecution", ":execution:*"): "executions carry no tags and their names are the user's",
    ("cloudwatch:DescribeAlarms", ":alarm:*"): "the alarms a Lambda deploy names; read only",
    ("elasticbeanstalk:CreateApplicationVersion", ":applicationversion/*"): (
        "a new version's ARN is unknown before it exists, and a version deploys nothing by itself: "
        "UpdateEnvironment, which does, reaches only tagged environments"
    ),
    ("codedeploy:GetDeploymentConfig", ":deploymentconfig:*"): (
        "CreateDeployment reads the group's deployment configuration, AWS's own or the user's; read only"
    ),
}
# Buckets AWS names for the account, each with its reason.
AWS_NAMED = {
    ("s3:PutObject", "s3:::elasticbeanstalk-${AWS::Region}-${AWS::AccountId}/*"): (
        "the account's Elastic Beanstalk bucket (CreateStorageLocation names it), where bundles go"
    ),
    ("s3:GetObject", "s3:::elasticbeanstalk-${AWS::Region}-${AWS::AccountId}/*"): (
        "the account's Elastic Beanstalk bucket, read back by CreateApplicationVersion"
    ),
}
# Granted only while the action creates the resource, as the condition says.
WHILE_CREATING = {
    ("ecs:TagResource", ":task-definition/*"): {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
}
# Names Stepline itself gives: `stepline deploy` names every pipeline's state machine stepline-<name>.
STEPLINE_NAMED = (":stateMachine:stepline-*", ":execution:stepline-*:*")
# AWS managed policies SAM attaches to every function: its own logs and traces.
AWS_MANAGED = {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"}


def _branches(value: Any) -> Iterator[Any]:
    """A value, or each branch of an Fn::If (a statement may be one)."""
    if isinstance(value, dict) and list(value) == ["Fn::If"]:
        for branch in value["Fn::If"][1:]:
            yield from _branches(branch)
    elif value != {"Ref": "AWS::NoValue"}:
        yield value


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _scope(resource: Any, template: Mapping[str, Any]) -> str:
    """What a Resource expression reaches: "stack", "declared" (a parameter), "named" (no
    wildcard), "stepline" (Stepline's naming) or "open" (a wildcard beyond all of those)."""
    resources, parameters = template["Resources"], template.get("Parameters", {})
    if isinstance(resource, dict):
        [(function, argument)] = resource.items()
        if function == "Ref":
            return "stack" if argument in resources else "declared" if argument in parameters else "open"
        if function == "Fn::GetAtt":
            return "stack"
        if function == "Fn::If":
            scopes = {_scope(branch, template) for branch in _branches(resource)}
            return "open" if "open" in scopes else sorted(scopes)[0]
        if function in {"Fn::Split", "Fn::Join", "Fn::Select"}:
            inner = {_scope(item, template) for item in _listed(argument[1]) if not isinstance(item, str)}
            return "open" if not inner or "open" in inner else "declared" if "declared" in inner else "stack"
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            marked = text
            for name in re.findall(r"\$\{([^}]+)\}", text):
                base = name.split(".")[0]
                if base in variables:
                    marker = "<DECLARED>" if _scope(variables[base], template) == "declared" else "<STACK>"
                elif base in resources or name == "AWS::StackName":
                    marker = "<STACK>"
                elif base in parameters:
                    marker = "<DECLARED>"
                else:
                    marker = name  # Partition, Region, AccountId, URLSuffix
                marked = marked.replace("${" + name + "}", marker)
            return _scope(marked, template)
        return "open"
    text = str(resource)
    if "*" not in text:
        return "named"
    before = text.split("*", 1)[0]
    if "<STACK>" in before:
        return "stack"
    if "<DECLARED>" in before:
        return "declared"
    if any(text.endswith(suffix) for suffix in STEPLINE_NAMED):
        return "stepline"
    return "open"


def _statements(template: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, statement) for every identity-policy statement, Fn::If branches included."""
    for logical, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        elif resource["Type"] in {"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"}:
            documents = [properties["PolicyDocument"]]
        for document in documents:
            for entry in _listed(document["Statement"]):
                for statement in _branches(entry):
                    yield logical, statement


def overreach(template: Mapping[str, Any]) -> list[str]:
    """Every grant beyond the stack, the declared targets and the listed exceptions."""
    problems = []
    for where, statement in _statements(template):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"{where}: an Allow with NotAction/NotResource grants everything else")
            continue
        tagged = statement.get("Condition", {}).get("StringEquals", {}) == TAG_CONDITION
        for action in _listed(statement["Action"]):
            if "*" in action:
                problems.append(f"{where}: {action} allows every action it matches")
            for resource in _listed(statement["Resource"]):
                scope = _scope(resource, template)
                if scope != "open" or tagged:
                    continue
                text = str(resource)
                if resource == "*" and action in UNSCOPABLE:
                    continue
                if any(action == listed and suffix in text for listed, suffix in READ_ONLY_ACROSS_ACCOUNT):
                    continue
                if any(action == listed and text.endswith(f"{suffix}'}}") for listed, suffix in AWS_NAMED):
                    continue
                if any(
                    action == listed and suffix in text and statement.get("Condition") == condition
                    for (listed, suffix), condition in WHILE_CREATING.items()
                ):
                    continue
                problems.append(f"{where}: {action} on {text} reaches beyond the stack and its declared targets")
    for logical, resource in template["Resources"].items():
        for arn in resource.get("Properties", {}).get("ManagedPolicyArns", []):
            if isinstance(arn, dict):
                if _scope(arn, template) != "stack":
                    problems.append(f"{logical}: attaches {arn}")
            elif arn.rsplit("/", 1)[-1] not in AWS_MANAGED:
                problems.append(f"{logical}: attaches the managed policy {arn}")
    return problems


def test_no_grant_reaches_beyond_the_stack_or_its_declared_targets() -> None:
    template = transformed()
    assert list(_statements(template)), "the walk found no statements"
    assert overreach(template) == []


@pytest.mark.parametrize(
    ("role", "statement", "says"),
    [
        (
            "DeployLambdaFunctionRole",
            {
                "Effect": "Allow",
                "Action": ["lambda:UpdateFunctionCode"],
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*"},
            },
            "DeployLambdaFunctionRole: lambda:UpdateFunctionCode on {'Fn::Sub': 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*'} reaches beyond",
        ),
        (
            "SourceFunctionRole",
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
            "SourceFunctionRole: s3:GetObject on * reaches beyond",
        ),
        (
            "DeployEcsFunctionRole",
            {
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            },
            "DeployEcsFunctionRole: iam:PassRole on * reaches beyond",
        ),
        (
            "ApprovalFunctionRole",
            {
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:*"},
            },
            "ApprovalFunctionRole: sns:Publish on",
        ),
        (
            "BuildFunctionRole",
            {"Effect": "Allow", "Action": ["codebuild:*"], "Resource": "*"},
            "codebuild:* allows every action",
        ),
    ],
    ids=["deploy-any-function", "read-any-bucket", "pass-any-role", "publish-any-topic", "wildcard-action"],
)
def test_the_walk_refuses_the_grants_that_were_too_broad(role: str, statement: dict[str, Any], says: str) -> None:
    # Given the template with one of the grants the stack used to make, put back
    template = copy.deepcopy(transformed())
    template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(statement)
    # Then the walk names the role, the action and the resource
    problems = overreach(template)
    assert any(says in problem for problem in problems), problems


# --- the policies evaluated on concrete requests ---------------------------------------------

USER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/reminders-task-execution"
USER_BUCKET = "arn:aws:s3:::reminders-releases"
USER_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:reminders-approvals"
USER_SITE = "arn:aws:s3:::reminders-site"
USER_STACKS = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/reminders-*"
USER_STACK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/reminders-cloudformation"
ENABLED = {"aws:ResourceTag/stepline": "enabled"}


@pytest.fixture(scope="module")
def stack() -> Stack:
    return Stack(
        transformed(),
        parameters={
            "EcsTaskRoleArns": [USER_ROLE],
            "SourceBucketArns": [USER_BUCKET],
            "ApprovalTopicArns": [USER_TOPIC],
            "CloudFormationStackArns": [USER_STACKS],
            "DeployBucketArns": [USER_SITE],
            "CloudFormationRoleArns": [USER_STACK_ROLE],
        },
    )


def documents(stack: Stack, role: str) -> list[dict[str, Any]]:
    """A role's inline policies and the stack's managed policies attached to it."""
    properties = stack.resource(role)
    found = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
    managed = {stack.ref(logical): logical for logical, _ in stack.resources_of("AWS::IAM::ManagedPolicy")}
    for arn in properties.get("ManagedPolicyArns", []):
        if arn in managed:
            found.append(stack.resource(managed[arn])["PolicyDocument"])
    return found


def decide(stack: Stack, role: str, action: str, resource: str, **context: Any) -> str:
    return evaluate(documents(stack, role), Request(action, resource, context))


def steplines_own_functions(stack: Stack) -> list[str]:
    return [stack.get_att(logical, "Arn") for logical, _ in stack.resources_of("AWS::Lambda::Function")]


@pytest.mark.parametrize(
    "action",
    ["lambda:UpdateFunctionCode", "lambda:PublishVersion", "lambda:UpdateAlias", "lambda:GetFunctionConfiguration"],
)
def test_steplines_own_functions_are_never_deployed_to_even_when_tagged(stack: Stack, action: str) -> None:
    own = steplines_own_functions(stack)
    assert len(own) >= 9
    for function in own:
        assert (
            decide(stack, "DeployLambdaFunctionRole", action, function, **{"aws:ResourceTag/stepline": "enabled"})
            == "explicitly denied"
        ), function
        assert (
            decide(
                stack, "DeployLambdaFunctionRole", action, f"{function}:live", **{"aws:ResourceTag/stepline": "enabled"}
            )
            == "explicitly denied"
        )
    user = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:reminders-api"
    assert (
        decide(stack, "DeployLambdaFunctionRole", action, user, **{"aws:ResourceTag/stepline": "enabled"}) == "allowed"
    )
    assert decide(stack, "DeployLambdaFunctionRole", action, user) == "implicitly denied"


def test_steplines_own_functions_and_state_machines_are_never_invoked(stack: Stack) -> None:
    tag = {"aws:ResourceTag/stepline": "enabled"}
    for function in steplines_own_functions(stack):
        assert decide(stack, "InvokeFunctionRole", "lambda:InvokeFunction", function, **tag) == "explicitly denied"
    pipeline = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:stepline-FriendReminders"
    for machine in (pipeline, stack.ref("LambdaDeployStateMachine")):
        assert decide(stack, "InvokeFunctionRole", "states:StartExecution", machine, **tag) == "explicitly denied"
    user = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:payments-smoke-tests"
    assert decide(stack, "InvokeFunctionRole", "states:StartExecution", user, **tag) == "allowed"
    assert decide(stack, "InvokeFunctionRole", "states:StartExecution", user) == "implicitly denied"
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:payments-release-announcer"
    assert decide(stack, "InvokeFunctionRole", "lambda:InvokeFunction", function, **tag) == "allowed"
    assert decide(stack, "InvokeFunctionRole", "lambda:InvokeFunction", function) == "implicitly denied"


def test_builds_start_only_on_tagged_projects_and_the_commands_project(stack: Stack) -> None:
    project = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/FriendRemindersBuild"
    assert decide(stack, "BuildFunctionRole", "codebuild:StartBuild", project, **ENABLED) == "allowed"
    assert decide(stack, "BuildFunctionRole", "codebuild:StartBuild", project) == "implicitly denied"
    assert (
        decide(stack, "BuildFunctionRole", "codebuild:StartBuild", stack.get_att("CommandsProject", "Arn")) == "allowed"
    )


def test_ecs_deploys_pass_only_the_declared_roles_and_only_to_ecs_tasks(stack: Stack) -> None:
    to_tasks = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    assert decide(stack, "DeployEcsFunctionRole", "iam:PassRole", USER_ROLE, **to_tasks) == "allowed"
    other = f"arn:aws:iam::{ACCOUNT}:role/admin"
    assert decide(stack, "DeployEcsFunctionRole", "iam:PassRole", other, **to_tasks) == "implicitly denied"
    to_lambda = {"iam:PassedToService": "lambda.amazonaws.com"}
    assert decide(stack, "DeployEcsFunctionRole", "iam:PassRole", USER_ROLE, **to_lambda) == "implicitly denied"
    service = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/friendreminders/remindersmgt"
    assert decide(stack, "DeployEcsFunctionRole", "ecs:UpdateService", service, **ENABLED) == "allowed"
    assert decide(stack, "DeployEcsFunctionRole", "ecs:UpdateService", service) == "implicitly denied"


def test_cloudformation_deploys_act_on_declared_stacks_and_pass_declared_roles_to_cloudformation(stack: Stack) -> None:
    # Given the stacks and the role a pipeline's CloudFormation actions were declared with
    ours = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/reminders-api/5b9e3a80-0000-11ef-8f3e-0a1b2c3d4e5f"
    theirs = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/payroll/6c0f4b90-0000-11ef-8f3e-0a1b2c3d4e5f"
    for action in ("cloudformation:CreateStack", "cloudformation:DeleteStack", "cloudformation:ExecuteChangeSet"):
        assert decide(stack, "DeployCloudFormationFunctionRole", action, ours) == "allowed"
        # Then any other stack (which may carry a powerful role of its own) is out of reach
        assert decide(stack, "DeployCloudFormationFunctionRole", action, theirs) == "implicitly denied"
    to_cloudformation = {"iam:PassedToService": "cloudformation.amazonaws.com"}
    role = "DeployCloudFormationFunctionRole"
    assert decide(stack, role, "iam:PassRole", USER_STACK_ROLE, **to_cloudformation) == "allowed"
    admin = f"arn:aws:iam::{ACCOUNT}:role/admin"
    assert decide(stack, role, "iam:PassRole", admin, **to_cloudformation) == "implicitly denied"
    to_lambda = {"iam:PassedToService": "lambda.amazonaws.com"}
    assert decide(stack, role, "iam:PassRole", USER_STACK_ROLE, **to_lambda) == "implicitly denied"
    # And the sweeper only reads those stacks
    assert decide(stack, "SweeperFunctionRole", "cloudformation:DescribeStacks", ours) == "allowed"
    assert decide(stack, "SweeperFunctionRole", "cloudformation:DescribeStacks", theirs) == "implicitly denied"
    assert decide(stack, "SweeperFunctionRole", "cloudformation:DeleteStack", ours) == "implicitly denied"


def test_codedeploy_deploys_reach_only_tagged_groups(stack: Stack) -> None:
    group = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:AppECS-reminders/DgpECS-reminders"
    role = "DeployCodeDeployFunctionRole"
    assert decide(stack, role, "codedeploy:CreateDeployment", group, **ENABLED) == "allowed"
    assert decide(stack, role, "codedeploy:CreateDeployment", group) == "implicitly denied"
    assert decide(stack, "SweeperFunctionRole", "codedeploy:BatchGetDeployments", group, **ENABLED) == "allowed"
    to_tasks = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    assert decide(stack, role, "iam:PassRole", USER_ROLE, **to_tasks) == "allowed"
    assert decide(stack, role, "iam:PassRole", USER_STACK_ROLE, **to_tasks) == "implicitly denied"


def test_beanstalk_deploys_update_only_tagged_environments(stack: Stack) -> None:
    environment = f"arn:aws:elasticbeanstalk:{REGION}:{ACCOUNT}:environment/reminders-web/reminders-web-prod"
    role = "DeployBeanstalkFunctionRole"
    assert decide(stack, role, "elasticbeanstalk:UpdateEnvironment", environment, **ENABLED) == "allowed"
    assert decide(stack, role, "elasticbeanstalk:UpdateEnvironment", environment) == "implicitly denied"
    other = "arn:aws:s3:::elasticbeanstalk-eu-west-1-999999999999/x.zip"
    assert decide(stack, role, "s3:PutObject", other) == "implicitly denied"


def test_s3_deploys_write_only_to_declared_buckets(stack: Stack) -> None:
    assert decide(stack, "DeployS3FunctionRole", "s3:PutObject", f"{USER_SITE}/index.html") == "allowed"
    assert decide(stack, "DeployS3FunctionRole", "s3:PutObject", f"{USER_BUCKET}/app.zip") == "implicitly denied"
    artifacts = stack.get_att("ArtifactBucket", "Arn")
    assert decide(stack, "DeployS3FunctionRole", "s3:PutObject", f"{artifacts}/x.zip") == "implicitly denied"


def test_sources_read_only_declared_buckets_and_tagged_repositories(stack: Stack) -> None:
    assert decide(stack, "SourceFunctionRole", "s3:GetObject", f"{USER_BUCKET}/app.zip") == "allowed"
    assert decide(stack, "SourceFunctionRole", "s3:GetBucketVersioning", USER_BUCKET) == "allowed"
    assert (
        decide(stack, "SourceFunctionRole", "s3:GetObject", "arn:aws:s3:::someone-elses/app.zip") == "implicitly denied"
    )
    repository = f"arn:aws:codecommit:{REGION}:{ACCOUNT}:FriendReminders"
    assert decide(stack, "SourceFunctionRole", "codecommit:GetBranch", repository, **ENABLED) == "allowed"
    assert decide(stack, "SourceFunctionRole", "codecommit:GetBranch", repository) == "implicitly denied"


def test_approvals_publish_only_to_the_stacks_topic_and_the_declared_ones(stack: Stack) -> None:
    assert decide(stack, "ApprovalFunctionRole", "sns:Publish", stack.ref("ApprovalsTopic")) == "allowed"
    assert decide(stack, "ApprovalFunctionRole", "sns:Publish", USER_TOPIC) == "allowed"
    other = f"arn:aws:sns:{REGION}:{ACCOUNT}:payroll"
    assert decide(stack, "ApprovalFunctionRole", "sns:Publish", other) == "implicitly denied"


def test_without_declared_targets_the_optional_grants_are_left_out() -> None:
    bare = Stack(transformed())
    assert (
        decide(
            bare,
            "DeployEcsFunctionRole",
            "iam:PassRole",
            USER_ROLE,
            **{"iam:PassedToService": "ecs-tasks.amazonaws.com"},
        )
        == "implicitly denied"
    )
    assert decide(bare, "SourceFunctionRole", "s3:GetObject", f"{USER_BUCKET}/app.zip") == "implicitly denied"
    stack_arn = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/reminders-api/1"
    assert decide(bare, "DeployCloudFormationFunctionRole", "cloudformation:CreateStack", stack_arn) == (
        "implicitly denied"
    )


def test_the_artifact_policy_lets_a_build_project_role_read_and_write_artifacts(stack: Stack) -> None:
    bucket = stack.get_att("ArtifactBucket", "Arn")
    policy = [stack.resource("ArtifactAccessPolicy")["PolicyDocument"]]
    for action in ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"):
        assert evaluate(policy, Request(action, f"{bucket}/FriendReminders/e1/SourceArtifact.zip")) == "allowed"
    assert evaluate(policy, Request("s3:ListBucket", bucket)) == "allowed"
    assert evaluate(policy, Request("s3:PutObject", "arn:aws:s3:::other/x")) == "implicitly denied"
    assert stack.ref("ArtifactAccessPolicy") in stack.resource("CommandsProjectRole")["ManagedPolicyArns"]
