"""``stepline asl run``: any state machine on the embedded engine, no AWS, output as JSON.

Prints ``{"status", "output", "error", "cause"}``; exits 0 when the execution succeeded,
1 when it failed, was aborted or is still waiting, 2 for bad input (definition, input JSON,
function specification).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stepline.cli import render
from stepline.cli.exits import ExitCode, UsageError
from stepline.cli.options import database_file
from stepline.errors import ConfigurationError

if TYPE_CHECKING:
    from stepline.engine import Engine

# The engine and the function loader load when the command runs.

# Step Functions' quotas: a definition of at most 1 MiB, an execution input of at most 256 KiB.
MAX_DEFINITION_BYTES = 1024 * 1024


def add_commands(commands: Any) -> None:
    asl = commands.add_parser("asl", help="run any Amazon States Language definition locally")
    asl_commands = asl.add_subparsers(title="asl commands", required=True, metavar="COMMAND")
    run = asl_commands.add_parser("run", help="run DEFINITION once and print its outcome as JSON")
    run.add_argument("definition", metavar="DEFINITION", help="the state machine (ASL JSON file)")
    run.add_argument("--input", default="{}", metavar="JSON", help="execution input; @FILE reads a file")
    run.add_argument(
        "--function",
        action="append",
        default=[],
        metavar="NAME=MODULE:CALLABLE",
        help="a Lambda function the definition calls, as a Python handler (module or path/to/file.py)",
    )
    run.add_argument("--skip-waits", action="store_true", help="let Wait states and retry back-offs pass at once")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="give up waiting after SECONDS")
    run.add_argument("--data", type=database_file, metavar="FILE", help="keep the engine's state in this SQLite file")
    run.add_argument("--name", metavar="NAME", help="the execution name (default: a new UUID)")
    run.add_argument(
        "--role-arn",
        default="",
        metavar="ARN",
        help="the execution's role, as $$.Execution.RoleArn reads it "
        "(default: arn:aws:iam::000000000000:role/stepline-local)",
    )
    run.add_argument(
        "--buckets",
        metavar="DIR",
        help="S3 for distributed Maps' ItemReader and ResultWriter: a folder per bucket, keys as paths",
    )
    run.set_defaults(handler=run_definition)


def run_definition(args: argparse.Namespace) -> int:
    from stepline.adapters.local.objects import LocalObjectStore
    from stepline.engine import Engine, EngineError, Functions, ManualClock, Store, SystemClock
    from stepline.engine.store import StoreError

    definition = _read_text(args.definition, MAX_DEFINITION_BYTES, "a state machine definition")
    given = _read_input(args.input)
    functions = Functions({name: handler for name, handler in map(_load_function, args.function)})
    clock = ManualClock(SystemClock().now()) if args.skip_waits else SystemClock()
    objects = LocalObjectStore(Path(args.buckets)) if args.buckets else None
    try:
        engine = Engine(Store(args.data), clock=clock, functions=functions, objects=objects)
    except StoreError as error:
        raise UsageError(str(error)) from None
    try:
        machine = engine.create_state_machine(Path(args.definition).stem or "machine", definition, args.role_arn)
        started = engine.start_execution(machine["stateMachineArn"], args.name, given)
    except EngineError as error:
        raise UsageError(f"{args.definition}: {error.message}") from None
    described = _run(engine, started["executionArn"], args.skip_waits, args.timeout)
    output = described.get("output")
    verdict = {
        "status": described["status"],
        "output": json.loads(output) if output is not None else None,
        "error": described.get("error"),
        "cause": described.get("cause"),
    }
    if described["status"] == "RUNNING":
        verdict["cause"] = "still running: it waits for a task token or a timer that has not come (see --timeout)"
    render.emit(verdict)
    return ExitCode.OK if described["status"] == "SUCCEEDED" else ExitCode.FAILED


# How long an execution may sit waiting only for an outside answer (a task token) before the
# command reports it as still running: long enough for a handler's own thread to answer.
OUTSIDE_ANSWER_GRACE_SECONDS = 1.0


def _run(engine: Engine, execution_arn: str, skip_waits: bool, timeout: float | None) -> dict[str, Any]:
    waiting_since: list[float] = []

    def finished() -> bool:
        if engine.describe_execution(execution_arn)["status"] != "RUNNING":
            return True
        if not engine.awaiting_outside():
            waiting_since.clear()
            return False
        waiting_since[:1] = waiting_since[:1] or [time.monotonic()]
        return time.monotonic() - waiting_since[0] >= OUTSIDE_ANSWER_GRACE_SECONDS

    engine.run(until=finished, skip_waits=skip_waits, block=True, timeout=timeout)
    return engine.describe_execution(execution_arn)


def _read_text(path: str, limit: int, what: str, label: str = "") -> str:
    """A file a user named, read with a cap (it may be /dev/zero or a FIFO), as UTF-8."""
    from stepline.files import UnreadableFile, read_limited

    try:
        raw = read_limited(path, limit, what)
    except UnreadableFile as error:
        raise UsageError(f"{label}{error}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(f"{label}{path}: is not UTF-8 text (byte {error.start} cannot be decoded)") from None


def _read_input(text: str) -> str:
    from stepline.engine.errors import MAX_PAYLOAD_BYTES

    if text.startswith("@"):
        text = _read_text(text[1:], MAX_PAYLOAD_BYTES, "an execution input", "--input @")
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"--input is not JSON: line {error.lineno}, column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise UsageError("--input nests arrays or objects too deeply to be read") from None
    return text


def _load_function(spec: str) -> tuple[str, Any]:
    from stepline.adapters.local.functions import load_callable

    name, _, target = spec.partition("=")
    if not name or ":" not in target:
        raise UsageError(f"--function {spec!r}: write NAME=MODULE:CALLABLE, e.g. notify=app.handlers:notify")
    try:
        return name, load_callable(target, f"--function {spec!r}")
    except ConfigurationError as error:
        raise UsageError(str(error)) from None
