"""The CLI's exit codes and its two errors, in one place: every command returns an
``ExitCode`` and stops early by raising ``UsageError`` (exit 2) or ``CommandFailed`` (exit 1).

What a command raises on purpose is a ``SteplineError`` (``stepline/errors.py``): the kind
``InvalidInput`` — a bad argument, file or definition — exits 2, every other kind exits 1.
"""

from __future__ import annotations

from enum import IntEnum

from stepline.errors import InvalidInput, SteplineError


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the pipeline failed, the API refused, a server is unreachable, the disk is full
    BAD_INPUT = 2  # an invalid pipeline, a missing file, a bad argument, an unusable --data
    INTERRUPTED = 128 + 2  # Ctrl-C: what a shell reports for a command ended by SIGINT
    BROKEN_PIPE = 128 + 13  # the reader went away (stepline validate x | head): as SIGPIPE would


class UsageError(InvalidInput):
    """The command line or a file it names is unusable; the command exits 2."""


class CommandFailed(SteplineError):
    """Something outside the user's input stood in the way (an API's refusal, an unreachable
    server, a missing stack); the message says what, and the command exits 1."""


def exit_code_for(error: SteplineError) -> ExitCode:
    return ExitCode.BAD_INPUT if isinstance(error, InvalidInput) else ExitCode.FAILED
