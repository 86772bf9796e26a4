"""The ``stepline`` command: validate, compile, draw and deploy pipelines, decide approvals.

Exit codes: 0 success, 2 bad input (an invalid pipeline, a missing file, a bad argument, a
--data that is not a usable folder), 1 a failure (the API's refusal, an unreachable server, a
full disk, anything unexpected) — reported in one line, never as a traceback; 141 when the
reader of the output went away (``stepline validate x | head``), silently, as for any Unix
tool killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from pydantic import TypeAdapter

from stepline import __version__
from stepline.approvals_cli import add_commands as add_approval_commands
from stepline.asl_cli import AslUsageError
from stepline.asl_cli import add_commands as add_asl_commands
from stepline.cli_support import BadUsage, CommandFailed
from stepline.compiler import CompilationError, compile_checked
from stepline.definition import DefinitionError, Report, check_file, load_valid_pipeline
from stepline.definition.models import GetPipelineOutput, PipelineDeclaration
from stepline.deploy_cli import add_commands as add_deploy_commands
from stepline.engine.store import StoreError, StoreFull
from stepline.errors import ConfigurationError
from stepline.files import write_atomically
from stepline.graph import render_mermaid, render_text
from stepline.run_cli import add_commands as add_run_commands
from stepline.serve_cli import add_commands as add_serve_commands

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a command ended by SIGPIPE


class UsageError(Exception):
    """A bad command line or an unusable input named by the user."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        handler = args.handler
        result: int = handler(args)
        sys.stdout.flush()  # a write that cannot be made (a closed pipe, a full disk) fails here, not at exit
        return result
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except DefinitionError as error:
        _print_problems(error.source, error.problems, sys.stderr)
        return EXIT_BAD_INPUT
    except CompilationError as error:
        print(f"stepline: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (UsageError, AslUsageError, BadUsage) as error:
        print(f"stepline: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (CommandFailed, ConfigurationError, StoreFull) as error:
        print(f"stepline: {error}", file=sys.stderr)
        return EXIT_FAILED
    except StoreError as error:  # a database in --data that is not one Stepline can use
        print(f"stepline: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:  # the machine refused: a full disk, a permission, a vanished file
        _discard_stdout()
        print(f"stepline: {_os_error(error)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("stepline: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("STEPLINE_DEBUG"):
            raise
        print(
            f"stepline: unexpected {type(error).__name__}: {error} (set STEPLINE_DEBUG=1 to see where)",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush of what could not be
    written does not fail again with a traceback."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's capture): nothing is flushed at exit
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)


_FULL = {errno.ENOSPC, errno.EDQUOT}


def _os_error(error: OSError) -> str:
    reason = error.strerror or str(error)
    if error.filename:
        reason = f"{error.filename}: {reason}"
    elif error.errno in _FULL | {errno.EFBIG, errno.EIO}:
        reason = f"cannot write: {reason}"  # to an open file, most often the output (> /dev/full)
    if error.errno in _FULL:
        reason += ": the disk is full; free some space and run the command again"
    return reason


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stepline",
        description="Release pipelines in CodePipeline's format, compiled to Step Functions.",
    )
    parser.add_argument("--version", action="version", version=f"stepline {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check pipeline files; exit 2 if any is invalid")
    validate.add_argument("files", nargs="+", metavar="FILE", help="pipeline JSON or YAML")
    validate.add_argument("--output", choices=["text", "json"], default="text")
    validate.set_defaults(handler=_validate)

    compile_ = commands.add_parser("compile", help="print the Amazon States Language definition")
    compile_.add_argument("file", metavar="FILE")
    compile_.add_argument("-o", "--out", metavar="OUT", help="write the definition to OUT")
    compile_.set_defaults(handler=_compile)

    graph = commands.add_parser("graph", help="draw the pipeline's stages and actions")
    graph.add_argument("file", metavar="FILE")
    graph.add_argument("--format", choices=["text", "mermaid"], default="text")
    graph.set_defaults(handler=_graph)

    add_asl_commands(commands)
    add_approval_commands(commands)
    add_deploy_commands(commands)
    add_run_commands(commands)
    add_serve_commands(commands)

    schema = commands.add_parser("schema", help="print a JSON Schema of pipeline files, for editors")
    schema.set_defaults(handler=_schema)
    return parser


def _validate(args: argparse.Namespace) -> int:
    reports = [check_file(path) for path in args.files]
    if args.output == "json":
        print(json.dumps([_report_json(report) for report in reports], indent=2))
    else:
        for report in reports:
            _print_report(report)
    return EXIT_OK if all(report.valid for report in reports) else EXIT_BAD_INPUT


def _report_json(report: Report) -> dict[str, Any]:
    return {
        "file": report.source,
        "valid": report.valid,
        "errors": [p.to_dict() for p in report.errors],
        "warnings": [p.to_dict() for p in report.warnings],
    }


def _print_report(report: Report) -> None:
    if report.valid and report.loaded is not None:
        pipeline = report.loaded.pipeline
        actions = sum(len(stage.actions) for stage in pipeline.stages)
        print(f"{report.source}: valid — {pipeline.name}, {len(pipeline.stages)} stages, {actions} actions")
        for warning in report.warnings:
            print(f"  warning: {warning}")
        return
    _print_problems(report.source, report.problems, sys.stdout)


def _print_problems(source: str, problems: Sequence[Any], stream: TextIO) -> None:
    errors = [p for p in problems if getattr(p, "severity", "error") == "error"]
    print(f"{source}: invalid — {len(errors)} error{'s' if len(errors) != 1 else ''}", file=stream)
    for problem in problems:
        print(f"  {problem.severity.value}: {problem}", file=stream)


def _compile(args: argparse.Namespace) -> int:
    loaded = load_valid_pipeline(args.file)
    compiled = compile_checked(loaded.pipeline)
    text = compiled.to_json()
    if args.out:
        try:
            write_atomically(Path(args.out), text)
        except OSError as error:
            raise UsageError(f"cannot write {args.out}: {error.strerror}") from None
        print(
            f"{args.out}: {len(compiled.definition['States'])} top-level states; "
            f"placeholders to fill: {', '.join(compiled.placeholders)}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _graph(args: argparse.Namespace) -> int:
    loaded = load_valid_pipeline(args.file)
    render = render_mermaid if args.format == "mermaid" else render_text
    sys.stdout.write(render(loaded.pipeline))
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    adapter: TypeAdapter[PipelineDeclaration | GetPipelineOutput] = TypeAdapter(PipelineDeclaration | GetPipelineOutput)
    schema = adapter.json_schema(by_alias=True)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Stepline pipeline (CodePipeline PipelineDeclaration, bare or as get-pipeline prints it)",
        **schema,
    }
    print(json.dumps(schema, indent=2))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
