"""``stepline run``, ``executions`` and ``show``: pipelines on this machine, in the foreground.

``run`` applies the pipeline to the embedded engine in ``--data`` (default ``.stepline``),
starts one execution and draws it live; approvals are decided by ``--approve``/``--reject``
(through the review link's own HTTP endpoint, as a browser would), by a prompt on a
terminal, or by anyone with the printed link. Exit codes: 0 the pipeline succeeded, 1 it
failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stepline.cli import render
from stepline.cli.exits import CommandFailed, ExitCode, UsageError
from stepline.cli.options import add_state_data, check_declared, source_pairs, variable_values

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

    from stepline.definition.models import PipelineDeclaration
    from stepline.local.runtime import LocalRuntime
    from stepline.ports.approvals import Approval
    from stepline.status import PipelineRun

# The engine, the handlers' wiring, the API (boto3 among them) and rich load when a command runs.

POLL_SECONDS = 0.2


def add_commands(commands: Any) -> None:
    run = commands.add_parser("run", help="run a pipeline once on this machine, drawn live")
    run.add_argument("pipeline", metavar="PIPELINE", help="pipeline JSON or YAML")
    run.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="the local repository for a CodeCommit, GitHub or connection source (repository name = path)",
    )
    run.add_argument(
        "--state-machine",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="an Amazon States Language file for the state machine an Invoke/AWS/StepFunctions action names",
    )
    decision = run.add_mutually_exclusive_group()
    decision.add_argument("--approve", action="store_true", help="approve every manual approval")
    decision.add_argument("--reject", action="store_true", help="reject the first manual approval")
    run.add_argument("--comment", default="", help="the approval's comment (with --approve or --reject)")
    run.add_argument("--name", help="the execution's name (default: a new UUID)")
    run.add_argument(
        "--variable", action="append", default=[], metavar="NAME=VALUE", help="a pipeline-level variable's value"
    )
    run.add_argument("--quiet", action="store_true", help="do not stream build logs")
    add_state_data(run)
    run.set_defaults(handler=run_pipeline)

    executions = commands.add_parser("executions", help="list past executions on this machine")
    executions.add_argument("--pipeline", help="only this pipeline's")
    add_state_data(executions, existing=True)
    executions.set_defaults(handler=list_executions)

    show = commands.add_parser("show", help="show one execution: stages, actions, outputs")
    show.add_argument("execution", metavar="EXECUTION", help="its name or ARN")
    add_state_data(show, existing=True)
    show.set_defaults(handler=show_execution)


def _sources(pairs: list[str]) -> str:
    return ",".join(f"{name}={path}" for name, path in source_pairs(pairs).items())


def _state_machines(pairs: list[str]) -> str:
    """--state-machine pairs added to what STEPLINE_STATE_MACHINES already names."""
    for pair in pairs:
        name, separator, path = pair.partition("=")
        if not separator or not name or not path:
            raise UsageError(f"--state-machine {pair!r}: write NAME=FILE (the state machine's name, then its ASL file)")
        if not Path(path).is_file():
            raise UsageError(f"--state-machine {name}: {path} is not a file")
    return ",".join(filter(None, [os.environ.get("STEPLINE_STATE_MACHINES", ""), *pairs]))


def _unmapped_sources(pipeline: PipelineDeclaration, mapping: dict[str, str]) -> list[str]:
    """Sources that name a repository on a service with no local repository mapped for it:
    said before anything runs, rather than as a failed Source stage."""
    from stepline.definition.providers import source_repository

    missing = []
    for action in pipeline.stages[0].actions if pipeline.stages else []:
        repository, provider = source_repository(action), action.action_type_id.provider
        if repository is None or provider == "Git":  # Git names its own path or URL
            continue
        # GitHub v1 may be mapped by "owner/repo" or by the repository's name alone.
        names = [repository.name, action.configuration.get("Repo", "")] if provider == "GitHub" else [repository.name]
        if not any(name in mapping for name in names):
            missing.append(f"{action.name} reads {provider} repository {names[0]!r}: pass --source {names[0]}=PATH")
    return missing


@contextmanager
def _runtime(data: str, environment: dict[str, str], *, runs: bool = True) -> Iterator[LocalRuntime]:
    from stepline.local.runtime import LocalRuntime

    runtime = LocalRuntime(Path(data), environment=environment, runs_executions=runs)
    try:
        yield runtime
    finally:
        runtime.close()


def run_pipeline(args: argparse.Namespace) -> int:
    from stepline.api.app import handle
    from stepline.api.wsgi import LocalApi
    from stepline.cli.views import decided, print_summary
    from stepline.definition import DefinitionError, check_file
    from stepline.settings import source_mapping

    report = check_file(args.pipeline)
    if report.loaded is None or report.errors:
        raise DefinitionError(report.source, report.errors)
    loaded = report.loaded
    variables = variable_values(args.variable)
    check_declared(variables, loaded.pipeline.name, {variable.name for variable in loaded.pipeline.variables})
    # --source adds to what STEPLINE_SOURCES (and STEPLINE_SOURCES_FILE) already map.
    given = ",".join(filter(None, [os.environ.get("STEPLINE_SOURCES", ""), _sources(args.source)]))
    mapping = source_mapping(given, os.environ.get("STEPLINE_SOURCES_FILE"))
    missing = _unmapped_sources(loaded.pipeline, mapping)
    if missing:
        raise UsageError("; ".join(missing))
    from stepline.local.aws_access import missing_credentials

    if problem := missing_credentials(loaded.pipeline, mapping):
        raise UsageError(problem)
    environment = {"STEPLINE_SOURCES": given, "STEPLINE_STATE_MACHINES": _state_machines(args.state_machine)}
    console = render.console()
    for warning in report.warnings:  # accepted but not acted on yet: said, never silently ignored
        console.print(f"warning: {warning}", style="yellow", soft_wrap=True)
    # The API serves the review links while the run lasts: links printed here really open.
    with LocalApi(handle) as api:
        environment["STEPLINE_API_URL"] = api.url
        with _runtime(args.data, environment) as runtime:
            entry = runtime.apply(loaded.pipeline, sources=source_pairs(args.source))
            payload = {"trigger": {"type": "StartPipelineExecution"}, "variables": variables}
            execution = runtime.start(entry.name, payload, name=args.name)
            runtime.start_worker()
            run = _follow(runtime, execution, args, console)
            approvals = decided(run)
    print_summary(run, console, Path(args.data), approvals)
    return ExitCode.OK if run.status == "Succeeded" else ExitCode.FAILED


def _follow(runtime: LocalRuntime, execution: str, args: argparse.Namespace, console: Console) -> PipelineRun:
    """Draw the run until it ends: a live table on a terminal, a line per change otherwise."""
    from rich.live import Live

    from stepline.cli.views import LineView, live_view

    decided: set[str] = set()
    entry = runtime.pipeline_of(execution)  # once: each poll reads only the history
    lines = LineView(console, runtime.data, quiet=args.quiet)
    live = Live(console=console, refresh_per_second=8, redirect_stderr=True, redirect_stdout=True)
    if console.is_terminal:
        live.start()
    try:
        while True:
            run = runtime.run_of(execution, entry)
            if console.is_terminal:
                live.update(live_view(run, runtime.data, quiet=args.quiet))
            else:
                lines.update(run)
            if run.status != "InProgress":
                return run
            for approval in _waiting(run, decided):
                decided.add(approval.id)
                _decide(approval, args, live, console)
            time.sleep(POLL_SECONDS)
    finally:
        live.stop()


def _waiting(run: PipelineRun, decided: set[str]) -> list[Approval]:
    from stepline import wiring

    return [
        approval
        for approval in wiring.approvals().pending()
        if approval.execution_name == run.execution_name and approval.id not in decided
    ]


def _review_link(approval: Approval) -> str:
    """The link the notification carried."""
    from stepline import wiring
    from stepline.actions.approval import review_link
    from stepline.settings import settings

    return review_link(settings().api_url, approval, wiring.link_signer())


def _decide(approval: Approval, args: argparse.Namespace, live: Live, console: Console) -> None:
    """Decide by the flags, or by asking on a terminal, through the review link as a person
    would; with neither, leave it to whoever holds the link."""
    from stepline.api.client import ApiUnreachable, decide_through_link

    where, link = f"{approval.stage}/{approval.action}", _review_link(approval)
    if args.approve or args.reject:
        approve = bool(args.approve)
        comment = args.comment or ("approved" if approve else "rejected") + " from stepline run"
        console.print(f"{'approving' if approve else 'rejecting'} {where} through {link}", soft_wrap=True)
    elif sys.stdin.isatty() and console.is_terminal:
        live.stop()
        try:
            answer = console.input(f"{where}: {approval.custom_data}\n  approve? (a)pprove / (r)eject: ")
            comment = console.input("  comment: ")
        finally:
            live.start()
        approve = answer.strip().lower().startswith("a")
    else:
        console.print(f"{where} waits for a decision: open {link}, or use stepline approve", soft_wrap=True)
        return
    try:
        status, _ = decide_through_link(link, approve, comment, getpass.getuser())
    except ApiUnreachable as error:
        raise CommandFailed(str(error)) from None
    if status != 200:
        console.print(f"the review page refused the decision (HTTP {status})", style="red", soft_wrap=True)


def list_executions(args: argparse.Namespace) -> int:
    from stepline.cli.views import executions_table

    console = render.console()
    with _runtime(args.data, {}, runs=False) as runtime:
        listed = runtime.executions(args.pipeline)
    if not listed:
        console.print(f"no executions in {args.data}", soft_wrap=True)
        return ExitCode.OK
    console.print(executions_table(listed))
    return ExitCode.OK


def show_execution(args: argparse.Namespace) -> int:
    from stepline.cli.views import decided, print_summary

    console = render.console()
    from stepline.errors import ConfigurationError

    with _runtime(args.data, {}, runs=False) as runtime:
        try:
            found = runtime.find_execution(args.execution)
        except ConfigurationError as error:  # no such execution, or a prefix of several: the user's to fix
            raise UsageError(str(error)) from None
        run = runtime.run_of(found)
        approvals = decided(run)
    print_summary(run, console, Path(args.data), approvals)
    return ExitCode.OK
