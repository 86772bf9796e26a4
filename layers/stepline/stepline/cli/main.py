"""The ``stepline`` command: validate, compile, draw and deploy pipelines, decide approvals.

Exit codes (``exits.ExitCode``): 0 success, 2 bad input (an invalid pipeline, a missing file, a
bad argument, a --data that is not a usable folder), 1 a failure (the API's refusal, an
unreachable server, a full disk, anything unexpected) — reported in one line, never as a
traceback; 141 when the reader of the output went away (``stepline validate x | head``),
silently, as for any Unix tool killed by SIGPIPE.

Building the parser imports no command's machinery: each command module loads what it needs
when it runs, so ``stepline --version`` costs the interpreter and argparse.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence

from stepline import __version__
from stepline.cli import approvals, asl, control, deploy, metrics, pipelines, render, run, serve
from stepline.cli.exits import ExitCode, exit_code_for
from stepline.errors import InvalidInput, SteplineError


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
        return ExitCode.BROKEN_PIPE
    except SteplineError as error:
        _refuse(error)
        return exit_code_for(error)
    except OSError as error:  # the machine refused: a full disk, a permission, a vanished file
        _discard_stdout()
        render.refuse(_os_error(error))
        return ExitCode.FAILED
    except KeyboardInterrupt:
        render.refuse("interrupted")
        return ExitCode.INTERRUPTED
    except Exception as error:
        if os.environ.get("STEPLINE_DEBUG"):
            raise
        render.refuse(f"unexpected {type(error).__name__}: {error} (set STEPLINE_DEBUG=1 to see where)")
        return ExitCode.FAILED


def _refuse(error: SteplineError) -> None:
    """A definition's problems one per line; any other error in one line."""
    if isinstance(error, InvalidInput):  # only bad input can be a definition's: its module is loaded then
        from stepline.definition import DefinitionError

        if isinstance(error, DefinitionError):
            render.problems(error.source, error.problems, sys.stderr)
            return
    render.refuse(str(error))


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
    pipelines.add_commands(commands)
    asl.add_commands(commands)
    approvals.add_commands(commands)
    control.add_commands(commands)
    deploy.add_commands(commands)
    run.add_commands(commands)
    metrics.add_commands(commands)
    serve.add_commands(commands)
    pipelines.add_schema_command(commands)
    return parser


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
