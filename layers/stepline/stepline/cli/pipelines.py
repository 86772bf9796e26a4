"""``stepline validate``, ``compile``, ``graph`` and ``schema``: pipeline files, read and turned
into what they compile to, on this machine with nothing running."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stepline.cli import render
from stepline.cli.exits import ExitCode, UsageError

if TYPE_CHECKING:
    from stepline.definition import Report


def add_commands(commands: Any) -> None:
    validate = commands.add_parser("validate", help="check pipeline files; exit 2 if any is invalid")
    validate.add_argument("files", nargs="+", metavar="FILE", help="pipeline JSON or YAML")
    validate.add_argument("--output", choices=["text", "json"], default="text")
    validate.set_defaults(handler=validate_files)

    compile_ = commands.add_parser("compile", help="print the Amazon States Language definition")
    compile_.add_argument("file", metavar="FILE")
    compile_.add_argument("-o", "--out", metavar="OUT", help="write the definition to OUT")
    compile_.set_defaults(handler=compile_file)

    graph = commands.add_parser("graph", help="draw the pipeline's stages and actions")
    graph.add_argument("file", metavar="FILE")
    graph.add_argument("--format", choices=["text", "mermaid"], default="text")
    graph.set_defaults(handler=draw_graph)


def add_schema_command(commands: Any) -> None:
    schema = commands.add_parser("schema", help="print a JSON Schema of pipeline files, for editors")
    schema.set_defaults(handler=print_schema)


def validate_files(args: argparse.Namespace) -> ExitCode:
    from stepline.definition import check_file

    reports = [check_file(path) for path in args.files]
    if args.output == "json":
        render.emit([_report_json(report) for report in reports])
    else:
        for report in reports:
            _print_report(report)
    return ExitCode.OK if all(report.valid for report in reports) else ExitCode.BAD_INPUT


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
        render.say(f"{report.source}: valid — {pipeline.name}, {len(pipeline.stages)} stages, {actions} actions")
        for warning in report.warnings:
            render.say(f"  warning: {warning.described}")
        return
    render.problems(report.source, report.problems)


def compile_file(args: argparse.Namespace) -> ExitCode:
    from stepline.compiler import compile_checked
    from stepline.definition import load_valid_pipeline
    from stepline.files import write_atomically

    loaded = load_valid_pipeline(args.file)
    compiled = compile_checked(loaded.pipeline)
    text = compiled.to_json()
    if args.out:
        try:
            write_atomically(Path(args.out), text)
        except OSError as error:
            raise UsageError(f"cannot write {args.out}: {error.strerror}") from None
        render.aside(
            f"{args.out}: {len(compiled.definition['States'])} top-level states; "
            f"placeholders to fill: {', '.join(compiled.placeholders)}"
        )
    else:
        sys.stdout.write(text)
    return ExitCode.OK


def draw_graph(args: argparse.Namespace) -> ExitCode:
    from stepline.definition import DefinitionError, check_file
    from stepline.graph import drawing_blockers, render_mermaid, render_text

    # Any pipeline of a valid shape is drawn; actions of providers Stepline does not run are named.
    report = check_file(args.file)
    blockers = drawing_blockers(report.loaded.pipeline, report.errors) if report.loaded else report.errors
    if report.loaded is None or blockers:
        raise DefinitionError(report.source, blockers)
    draw = render_mermaid if args.format == "mermaid" else render_text
    sys.stdout.write(draw(report.loaded.pipeline))
    return ExitCode.OK


def print_schema(args: argparse.Namespace) -> ExitCode:
    from pydantic import TypeAdapter

    from stepline.definition.models import GetPipelineOutput, PipelineDeclaration

    adapter: TypeAdapter[PipelineDeclaration | GetPipelineOutput] = TypeAdapter(PipelineDeclaration | GetPipelineOutput)
    schema = adapter.json_schema(by_alias=True)
    render.emit(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Stepline pipeline (CodePipeline PipelineDeclaration, bare or as get-pipeline prints it)",
            **schema,
        }
    )
    return ExitCode.OK
