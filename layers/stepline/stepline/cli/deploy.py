"""``stepline deploy`` and ``stepline start``: pipelines on the AWS stack ``sam deploy`` made."""

from __future__ import annotations

import argparse
import json
import os
import uuid
from typing import TYPE_CHECKING, Any

from stepline.cli import render
from stepline.cli.exits import CommandFailed, ExitCode
from stepline.cli.options import check_declared, variable_values
from stepline.cli.serve import schedule_expression

if TYPE_CHECKING:
    from stepline.ports.pipelines import Registry
    from stepline.ports.targets import Targets

# boto3 and the deploy machinery are imported when a command runs, not when the parser is
# built: every `stepline` invocation builds the parser, and boto3 alone takes 150 ms to load.

DEFAULT_STACK = "stepline"  # samconfig.toml's stack_name


SCHEDULE_ROLE_OUTPUT = "ScheduleRoleArn"
TRIGGER_OUTPUT = "TriggerFunctionArn"


def add_commands(commands: Any) -> None:
    deploy = commands.add_parser("deploy", help="compile a pipeline and create or update its state machine on AWS")
    deploy.add_argument("file", metavar="FILE", help="pipeline JSON or YAML")
    _add_stack(deploy)
    deploy.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    deploy.add_argument(
        "--skip-checks",
        action="store_true",
        help="do not check the projects, functions and services the pipeline names (tags, artifact access)",
    )
    deploy.add_argument(
        "--schedule",
        metavar="EXPR",
        type=schedule_expression,
        help="also start it on an EventBridge Scheduler schedule: rate(1 day), cron(0 6 ? * MON-FRI *) (UTC); "
        "without it, a schedule an earlier deploy made is removed",
    )
    deploy.add_argument(
        "--report-status",
        action="store_true",
        help="report each execution (pending, success, failure) as a status on the GitHub commit it builds",
    )
    deploy.set_defaults(handler=deploy_pipeline)

    start = commands.add_parser("start", help="start a deployed pipeline by hand, at its branches' heads")
    start.add_argument("pipeline", metavar="PIPELINE")
    _add_stack(start)
    start.add_argument("--name", help="the execution's name (default: a new UUID)")
    start.add_argument(
        "--variable", action="append", default=[], metavar="NAME=VALUE", help="a pipeline-level variable's value"
    )
    start.set_defaults(handler=start_pipeline)


def _add_stack(command: argparse.ArgumentParser) -> None:
    command.add_argument("--stack-name", default=DEFAULT_STACK, help=f"the Stepline stack (default: {DEFAULT_STACK})")
    command.add_argument("--region", help="the stack's Region (default: AWS_REGION or your profile's)")


def _region(args: argparse.Namespace) -> str:
    from stepline.adapters.aws import profile_region

    region = args.region or os.environ.get("AWS_REGION") or profile_region()
    if not region:
        raise CommandFailed("no AWS Region set: pass --region, or set AWS_REGION")
    return str(region)


def _outputs(args: argparse.Namespace, region: str) -> dict[str, str]:
    from stepline.adapters.aws import aws_client
    from stepline.deploy import DeployError, stack_outputs

    try:
        return stack_outputs(aws_client("cloudformation", region), args.stack_name)
    except DeployError as error:
        raise CommandFailed(str(error)) from None


def _registry(outputs: dict[str, str], args: argparse.Namespace, region: str) -> Registry:
    from stepline.adapters.aws import aws_client
    from stepline.adapters.aws.registry import DynamoRegistry
    from stepline.deploy import REGISTRY_OUTPUT

    if REGISTRY_OUTPUT not in outputs:
        raise CommandFailed(f"stack {args.stack_name!r} has no output {REGISTRY_OUTPUT}: update it with sam deploy")
    return DynamoRegistry(aws_client("dynamodb", region), outputs[REGISTRY_OUTPUT])


def targets(region: str) -> Targets:
    """The resources a pipeline names, as `stepline deploy` reads them (tests replace this)."""
    from stepline.adapters.aws import aws_client
    from stepline.adapters.aws.targets import AwsTargets

    return AwsTargets(lambda service: aws_client(service, region))


def deploy_pipeline(args: argparse.Namespace) -> int:
    from stepline.adapters.aws import aws_client
    from stepline.definition import load_valid_pipeline
    from stepline.deploy import DeployError, apply, plan
    from stepline.preflight import check_targets

    loaded = load_valid_pipeline(args.file)
    region = _region(args)
    outputs = _outputs(args, region)
    stepfunctions = aws_client("stepfunctions", region)
    try:
        planned = plan(loaded.pipeline, outputs, args.stack_name, stepfunctions)
    except DeployError as error:
        raise CommandFailed(str(error)) from None
    for warning in planned.warnings:
        render.warn(str(warning))
    if not args.skip_checks:
        # Before anything is created: every target exists, is tagged, and can reach the artifacts.
        report = check_targets(loaded.pipeline, targets(region), planned.bucket)
        for warning in report.warnings:
            render.warn(str(warning))
        if report.problems:
            raise CommandFailed(
                f"{args.file}: nothing was deployed; the pipeline's targets are not ready:\n"
                + "\n".join(f"  - {problem}" for problem in report.problems)
            )
    if args.dry_run:
        render.say(f"{args.file}: dry run, nothing changed; would:")
        for line in planned.describe():
            render.say(f"  {line}")
        return ExitCode.OK
    try:
        arn = apply(planned, stepfunctions, _registry(outputs, args, region), report_status=args.report_status)
    except DeployError as error:
        raise CommandFailed(str(error)) from None
    render.say(f"{'created' if planned.change == 'create' else 'updated'} {arn}")
    render.say(f"registered {loaded.pipeline.name}; start it with: stepline start {loaded.pipeline.name}")
    _schedule(loaded.pipeline.name, args.schedule, outputs, region)
    return ExitCode.OK


def _schedule(pipeline: str, expression: str | None, outputs: dict[str, str], region: str) -> None:
    """The pipeline's EventBridge Scheduler schedule made to match --schedule (none: removed)."""
    from stepline.adapters.aws import aws_client
    from stepline.adapters.aws.schedules import ScheduleError, SchedulerSchedules

    schedules = SchedulerSchedules(aws_client("scheduler", region))
    try:
        if expression is None:
            if schedules.remove(pipeline):
                render.say(f"removed the schedule of {pipeline}")
            return
        missing = [name for name in (SCHEDULE_ROLE_OUTPUT, TRIGGER_OUTPUT) if name not in outputs]
        if missing:
            raise CommandFailed(f"the stack has no output {', '.join(missing)}: update it (sam deploy) to schedule")
        name = schedules.put(pipeline, expression, outputs[TRIGGER_OUTPUT], outputs[SCHEDULE_ROLE_OUTPUT])
    except ScheduleError as error:
        raise CommandFailed(str(error)) from None
    render.say(f"scheduled {pipeline}: {expression} (UTC), EventBridge Scheduler schedule {name}")


def start_pipeline(args: argparse.Namespace) -> int:
    from stepline.adapters.aws import aws_client
    from stepline.adapters.aws.problems import aws_errors

    given = variable_values(args.variable)  # a malformed NAME=VALUE is said before AWS is asked anything
    region = _region(args)
    outputs = _outputs(args, region)
    with aws_errors("reading the pipeline registry", CommandFailed):
        entry = _registry(outputs, args, region).get(args.pipeline)
    if entry is None:
        raise CommandFailed(
            f"no pipeline {args.pipeline!r} is registered in stack {args.stack_name!r}: stepline deploy FILE first"
        )
    check_declared(given, args.pipeline, {variable.name for variable in entry.pipeline.variables})
    variables = given
    payload = {"trigger": {"type": "StartPipelineExecution"}, "variables": variables}
    with aws_errors(f"starting {args.pipeline}", CommandFailed):
        started = aws_client("stepfunctions", region).start_execution(
            stateMachineArn=entry.state_machine_arn, name=args.name or str(uuid.uuid4()), input=json.dumps(payload)
        )
    render.say(f"started {started['executionArn']}")
    return ExitCode.OK
