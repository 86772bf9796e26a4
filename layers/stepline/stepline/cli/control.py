"""``stepline disable-transition|enable-transition|transitions|stop|rollback``: run control's levers
through the JSON API (``api/control.py``), as ``approve`` decides through it: the same rules
and limits whoever pulls the lever, and the same record the stage gate keeps."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

from stepline.cli import render
from stepline.cli.approvals import add_connection, call, client
from stepline.cli.exits import ExitCode, UsageError

REASON_LIMIT = 300  # DisableStageTransition's reason (control.levers checks it again)
STOP_REASON_LIMIT = 200  # StopPipelineExecution's reason


def add_commands(commands: Any) -> None:
    disable = commands.add_parser("disable-transition", help="hold executions in front of a stage")
    disable.add_argument("pipeline", metavar="PIPELINE")
    disable.add_argument("stage", metavar="STAGE", help="the stage whose inbound transition closes")
    disable.add_argument("--reason", required=True, help=f"why (1 to {REASON_LIMIT} characters)")
    enable = commands.add_parser("enable-transition", help="let the newest waiting execution into a stage")
    enable.add_argument("pipeline", metavar="PIPELINE")
    enable.add_argument("stage", metavar="STAGE")
    listing = commands.add_parser("transitions", help="each stage's inbound transition: enabled, or why not")
    listing.add_argument("pipeline", metavar="PIPELINE")
    stop = commands.add_parser("stop", help="stop an execution: finish what runs (or --abandon it), start nothing")
    stop.add_argument("pipeline", metavar="PIPELINE")
    stop.add_argument("execution", metavar="EXECUTION", help="the execution's name")
    stop.add_argument("--abandon", action="store_true", help="stop now; running actions are Abandoned")
    stop.add_argument("--reason", default="", help=f"why (at most {STOP_REASON_LIMIT} characters)")
    back = commands.add_parser("rollback", help="run a stage again with what an earlier execution deployed")
    back.add_argument("pipeline", metavar="PIPELINE")
    back.add_argument("stage", metavar="STAGE", help="the stage to roll back")
    back.add_argument("target", metavar="TARGET", help="the succeeded execution whose revisions to use")
    handlers = ((disable, disable_transition), (enable, enable_transition), (listing, transitions), (back, rollback))
    for command, handler in handlers:
        add_connection(command)
        command.set_defaults(handler=handler)
    add_connection(stop)
    stop.set_defaults(handler=stop_execution)


def _path(*parts: str) -> str:
    return "/api/pipelines/" + "/".join(quote(part, safe="") for part in parts)


def disable_transition(args: argparse.Namespace) -> int:
    reason = args.reason.strip()
    if not 1 <= len(reason) <= REASON_LIMIT:
        raise UsageError(f"--reason: give 1 to {REASON_LIMIT} characters saying why (got {len(reason)})")
    call(client(args), "POST", _path(args.pipeline, "stages", args.stage, "disable-transition"), {"reason": reason})
    render.say(f"{args.pipeline}: the transition into {args.stage} is disabled: {reason}")
    return ExitCode.OK


def enable_transition(args: argparse.Namespace) -> int:
    call(client(args), "POST", _path(args.pipeline, "stages", args.stage, "enable-transition"))
    render.say(f"{args.pipeline}: the transition into {args.stage} is enabled")
    return ExitCode.OK


def transitions(args: argparse.Namespace) -> int:
    for stage in call(client(args), "GET", _path(args.pipeline, "transitions"))["stageStates"]:
        state = stage["inboundTransitionState"]
        said = "enabled" if state["enabled"] else f"disabled: {state.get('disabledReason', '')}"
        render.say(f"{stage['stageName']}: {said}")
    return ExitCode.OK


def stop_execution(args: argparse.Namespace) -> int:
    if len(args.reason) > STOP_REASON_LIMIT:
        raise UsageError(f"--reason is {len(args.reason)} characters long; at most {STOP_REASON_LIMIT} are allowed")
    body = {"reason": args.reason, "abandon": args.abandon}
    answer = call(client(args), "POST", _path(args.pipeline, "executions", args.execution, "stop"), body)
    render.say(f"{args.execution}: {answer['status']}")
    return ExitCode.OK


def rollback(args: argparse.Namespace) -> int:
    body = {"targetPipelineExecutionId": args.target}
    answer = call(client(args), "POST", _path(args.pipeline, "stages", args.stage, "rollback"), body)
    render.say(f"{args.pipeline}: rolling {args.stage} back to {args.target} in {answer['pipelineExecutionId']}")
    return ExitCode.OK
