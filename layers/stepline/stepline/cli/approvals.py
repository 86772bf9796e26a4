"""``stepline approve|reject|approvals``: decide and list manual approvals through the JSON API.

The API is the one a review link opens (``stepline serve`` locally, API Gateway on AWS), so a
decision from the terminal is recorded exactly as one from the page: once, from Pending.
"""

from __future__ import annotations

import argparse
import getpass
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stepline.cli import render
from stepline.cli.exits import CommandFailed, ExitCode, UsageError
from stepline.cli.options import api_token_for, default_data, server_url, token_directory

if TYPE_CHECKING:
    from stepline.api.client import ApiClient

# The API client, the settings and the approvals' limits load when a command runs.


def add_commands(commands: Any) -> None:
    for verb, decision in (("approve", "Approved"), ("reject", "Rejected")):
        command = commands.add_parser(verb, help=f"{verb} a manual approval an execution is waiting on")
        command.add_argument("execution", metavar="EXECUTION", help="the execution's name (or ARN)")
        command.add_argument("stage", metavar="STAGE")
        command.add_argument("action", metavar="ACTION")
        command.add_argument("--comment", default="", help="why (at most 512 characters); a rejection's cause")
        command.add_argument("--pipeline", help="the pipeline, when executions of several share the name")
        command.add_argument("--reviewer", help="who decides (default: your login name)")
        add_connection(command)
        command.set_defaults(handler=decide, decision=decision)
    listing = commands.add_parser("approvals", help="list the approvals waiting for a decision")
    add_connection(listing)
    listing.set_defaults(handler=list_pending)


def add_connection(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--url",
        help="the Stepline API (default: $STEPLINE_API_URL, else the `stepline serve` running on --data, "
        "else http://127.0.0.1:8080)",
    )
    command.add_argument(
        "--data",
        default=default_data(),
        type=token_directory,
        metavar="DIR",
        help="a local server's data directory, for its API token",
    )


def client(args: argparse.Namespace) -> ApiClient:
    from stepline.api.client import ApiClient

    url = api_url(args)
    return ApiClient(url, api_token_for(url, Path(args.data)))


def api_url(args: argparse.Namespace) -> str:
    """--url, else $STEPLINE_API_URL, else the `stepline serve` running on --data (any port),
    else the default local server."""
    from stepline.settings import DEFAULT_API_URL

    return args.url or os.environ.get("STEPLINE_API_URL", "").strip() or server_url(Path(args.data)) or DEFAULT_API_URL


def call(api: ApiClient, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    from stepline.api.client import ApiRefused, ApiUnreachable

    try:
        return api.call(method, path, body)
    except ApiRefused as refused:
        hint = " (check STEPLINE_API_TOKEN)" if refused.status == 401 else ""
        raise CommandFailed(f"{refused}{hint} [HTTP {refused.status}]") from None
    except ApiUnreachable as unreachable:
        raise CommandFailed(f"{unreachable} (is `stepline serve` running, or STEPLINE_API_URL set?)") from None


def decide(args: argparse.Namespace) -> int:
    from stepline.actions.approval import REVIEWER_LIMIT, SUMMARY_LIMIT

    reviewer = args.reviewer or getpass.getuser()
    # The API's limits, said before anything is sent.
    for option, given, limit in (("--comment", args.comment, SUMMARY_LIMIT), ("--reviewer", reviewer, REVIEWER_LIMIT)):
        if len(given) > limit:
            raise UsageError(f"{option} is {len(given)} characters long; at most {limit} are allowed")
    body = {
        "execution": args.execution,
        "stage": args.stage,
        "action": args.action,
        "decision": args.decision,
        "comment": args.comment,
        "reviewer": reviewer,
    }
    if args.pipeline:
        body["pipeline"] = args.pipeline
    approval = call(client(args), "POST", "/api/approvals", body)["approval"]
    render.say(
        f"{approval['status'].lower()}: {approval['pipeline']} {approval['stage']}/{approval['action']} "
        f"in {approval['execution_name']} by {approval['decided_by']}"
    )
    return ExitCode.OK


def list_pending(args: argparse.Namespace) -> int:
    waiting = call(client(args), "GET", "/api/approvals")["approvals"]
    if not waiting:
        render.say("no approvals are waiting")
    for approval in waiting:
        expires = datetime.fromtimestamp(approval["expires_at"], UTC).strftime("%Y-%m-%d %H:%M UTC")
        render.say(
            f"{approval['execution_name']}  {approval['stage']} {approval['action']}  "
            f"({approval['pipeline']}, expires {expires})"
        )
    return ExitCode.OK
