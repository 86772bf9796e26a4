"""``stepline serve``, ``apply``, ``console`` and ``hook``: the long-running engine on this machine.

``serve`` runs the embedded engine's workers and the HTTP API (approvals, GitHub webhooks,
the console, and the routes below) on 127.0.0.1; restarting it resumes every unfinished
execution from its SQLite file, and starts the pushes hooks kept while it was down. It prints
a one-time sign-in link to the console; ``console`` asks it for another. ``apply`` registers a
pipeline with it (``--schedule`` also starts it on a cron or rate schedule, by the server's
clock). ``hook install`` puts git hooks in a repository so its pushes and commits reach the
server, which starts the pipelines whose filters match — the same matching as on AWS.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from stepline.cli import render
from stepline.cli.approvals import add_connection, api_url, call, client
from stepline.cli.exits import CommandFailed, ExitCode, UsageError
from stepline.cli.options import LOOPBACK, SERVER_URL_FILE, add_state_data, api_token_for, port, source_pairs

# The engine, the API, the settings and their wiring (boto3 among them) load when a command runs.

HOOK_MARK = "# Installed by `stepline hook install`"


def add_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the local engine, API and console on 127.0.0.1")
    serve.add_argument("--port", type=port, default=8080, help="the port (default 8080; 0 picks a free one)")
    add_state_data(serve)
    serve.set_defaults(handler=serve_forever)

    apply = commands.add_parser("apply", help="register a pipeline with the local server (stepline serve)")
    apply.add_argument("pipeline", metavar="PIPELINE", help="pipeline JSON or YAML")
    apply.add_argument(
        "--schedule",
        metavar="EXPR",
        type=schedule_expression,
        help="also start it on a schedule: rate(1 day), cron(0 6 ? * MON-FRI *) (UTC)",
    )
    apply.add_argument(
        "--report-status",
        action="store_true",
        help="report each execution (pending, success, failure) as a status on the GitHub commit it builds",
    )
    apply.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="the local repository of a CodeCommit, GitHub or connection source, kept with the pipeline: "
        "pushes there start it",
    )
    add_connection(apply)
    apply.set_defaults(handler=apply_pipeline)

    console = commands.add_parser("console", help="print a new one-time sign-in link to a running server's console")
    add_connection(console)
    console.set_defaults(handler=console_link)

    hook = commands.add_parser("hook", help="git hooks that tell the local server about pushes")
    hook_commands = hook.add_subparsers(title="hook commands", required=True, metavar="COMMAND")
    install = hook_commands.add_parser("install", help="install post-receive and post-commit hooks in REPO")
    install.add_argument("repository", metavar="REPO", help="a git repository (bare or with a work tree)")
    install.add_argument("--force", action="store_true", help="replace hooks Stepline did not write")
    add_connection(install)
    install.set_defaults(handler=install_hooks)


def serve_forever(args: argparse.Namespace) -> int:
    from stepline import wiring
    from stepline.api.app import handle
    from stepline.api.console import login_link
    from stepline.api.wsgi import LocalApi
    from stepline.files import write_atomically
    from stepline.local.announce import Announcer
    from stepline.local.outbox import drain
    from stepline.local.runtime import LocalRuntime
    from stepline.local.schedules import ScheduleClock
    from stepline.triggers.polling import poll

    public = _public_url()
    try:
        api = LocalApi(handle, port=args.port, public_url=public)
    except OSError as error:
        raise CommandFailed(f"cannot listen on 127.0.0.1:{args.port}: {error.strerror}") from None
    # Review links (and the console's) point at the public URL when a tunnel forwards one.
    runtime = LocalRuntime(Path(args.data), environment={"STEPLINE_API_URL": public or api.url})
    wiring.install_local_host(runtime)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    unfinished = [e for e in runtime.executions() if e["status"] == "RUNNING"]
    wiring.api_token()  # made before serving, so apply and hooks find it from the first request
    announcer = Announcer(runtime, lambda line: render.note(line, flush=True))
    with api:
        threading.Thread(target=announcer.watch, args=(stop,), name="stepline-announce", daemon=True).start()
        runtime.start_worker()
        poller = partial(poll, runtime.registry, wiring.workflows(), wiring.source_heads(), wiring.records())
        clock = ScheduleClock(wiring.local_schedules(), runtime.registry, wiring.workflows(), time.time, poller=poller)
        clock.start()
        render.note(f"serving on {api.url} (API and console), data in {runtime.data}", flush=True)
        render.note(f"console: {login_link()} (signs in once; `stepline console` prints another)", flush=True)
        render.note(f"API token in {runtime.data / 'api-token'}; {len(unfinished)} unfinished execution(s) resumed")
        render.note(
            f"CodePipeline's API too: aws codepipeline … --endpoint-url {api.url} (access key id stepline, "
            "the API token as the secret)",
            flush=True,
        )
        render.note("register pipelines with stepline apply FILE; Ctrl-C stops", flush=True)
        for line in drain(runtime.data):  # pushes hooks kept while the server was down
            render.say(line, flush=True)
        address = runtime.data / SERVER_URL_FILE
        write_atomically(address, api.url)  # client commands on this data folder find the port here
        try:
            stop.wait()
        finally:
            address.unlink(missing_ok=True)
            clock.stop()
        render.note("stopping; unfinished executions resume at the next start", flush=True)
    runtime.close()
    return ExitCode.OK


def console_link(args: argparse.Namespace) -> int:
    answer = call(client(args), "POST", "/api/console/login-links")
    render.say(answer["url"])
    return ExitCode.OK


def _public_url() -> str | None:
    """$STEPLINE_API_URL when it names another host than this machine's loopback: the address a
    tunnel or proxy forwards to this server, whose Host it must answer for. (A loopback URL is
    only where the CLI looks for the server; the server knows its own port.)"""
    given = os.environ.get("STEPLINE_API_URL", "").strip()
    if not given:
        return None
    parts = urlparse(given)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError(f"STEPLINE_API_URL {given!r}: write the public URL as http(s)://HOST[:PORT][/PATH]")
    return None if parts.hostname in LOOPBACK else given.rstrip("/")


def schedule_expression(text: str) -> str:
    """An argparse type: a schedule expression EventBridge Scheduler (and stepline serve) reads."""
    from stepline.errors import InvalidInput
    from stepline.triggers.schedules import parse_schedule

    try:
        return parse_schedule(text).expression
    except InvalidInput as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def apply_pipeline(args: argparse.Namespace) -> int:
    from stepline.definition import load_valid_pipeline

    loaded = load_valid_pipeline(args.pipeline)
    # Git sources name repositories by path: make relative ones absolute, so the server (and
    # a hook) finds the same repository whatever directory it runs in.
    declaration = loaded.pipeline.model_dump(by_alias=True, exclude_none=True, mode="json")
    base = Path.cwd()
    for stage in declaration["stages"]:
        for action in stage["actions"]:
            url = action.get("configuration", {}).get("RepositoryUrl")
            if action["actionTypeId"]["provider"] == "Git" and url and "://" not in url and not url.startswith("git@"):
                action["configuration"]["RepositoryUrl"] = str((base / url).resolve())
    body = {
        "declaration": declaration,
        "source": args.pipeline,
        "schedule": args.schedule,
        "reportStatus": args.report_status,
        "sources": source_pairs(args.source),
    }
    answer = call(client(args), "POST", "/api/pipelines", body)
    render.say(f"applied {answer['pipeline']} ({answer['stateMachineArn']})")
    for line in answer["startsOn"] or ["starts only by hand"]:
        render.say(f"  {line}")
    return ExitCode.OK


def _git(repository: Path, *arguments: str) -> str:
    """git's answer about the repository, or UsageError saying why it has none."""
    command = ["git", "-C", str(repository), *arguments]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise UsageError(f"{repository}: {completed.stderr.strip() or 'not a git repository'}")
    return completed.stdout.strip()


def install_hooks(args: argparse.Namespace) -> int:
    from stepline.local.hooks import KINDS

    repository = Path(args.repository).resolve()
    if not repository.is_dir():
        raise UsageError(f"{args.repository}: no such directory")
    bare = _git(repository, "rev-parse", "--is-bare-repository") == "true"
    location = repository if bare else Path(_git(repository, "rev-parse", "--show-toplevel"))
    hooks = Path(_git(repository, "rev-parse", "--path-format=absolute", "--git-path", "hooks"))
    hooks.mkdir(parents=True, exist_ok=True)
    url = api_url(args)
    api_token_for(url, Path(args.data))  # fail now, not at the first push, if there is no token
    installed = []
    for kind in KINDS if not bare else ("post-receive",):
        hook = hooks / kind
        if hook.exists() and HOOK_MARK not in hook.read_text(errors="replace") and not args.force:
            raise CommandFailed(f"{hook} exists and is not Stepline's: merge it by hand, or pass --force")
        command = [
            sys.executable, "-m", "stepline.local.hooks", "--kind", kind,
            "--repository", str(location), "--url", url, "--data", str(Path(args.data).resolve()),
        ]  # fmt: skip
        hook.write_text(f"#!/bin/sh\n{HOOK_MARK}: tells the Stepline server at {url} about changes here.\n"
                        f"exec {shlex.join(command)}\n")  # fmt: skip
        hook.chmod(0o755)
        installed.append(kind)
    render.say(f"installed {', '.join(installed)} in {hooks}; pushes to {location} now reach {url}")
    return ExitCode.OK
