"""The one error hierarchy: every error Stepline raises on purpose is a ``SteplineError``.

Its message names what is wrong and where, so it reaches a person as that message — a CLI
line with exit status 2 or 1, an API problem with a 4xx/5xx — and never as a traceback.
Anything else that escapes is a bug, logged whole.

The kinds below say what went wrong, not how to answer it: the API maps each kind to an HTTP
status in one place (``api/problems.py``) and the CLI to an exit code in one place
(``cli/exits.py``). The errors Step Functions sees by name (Retry and Catch match them) are
``actions/errors.py``; ``ConfigurationError`` is one of them and is shared by every layer.
"""

from __future__ import annotations


class SteplineError(Exception):
    """An error Stepline raises on purpose; its message is for the person who can act on it."""


class ConfigurationError(SteplineError):
    """A setting, an action's configuration or the request received cannot work.

    Step Functions sees this name when an action raises it (``actions/errors.py``)."""


class NotFound(SteplineError):
    """Something asked for by name or id does not exist."""


class Conflict(SteplineError):
    """The request cannot be done in the current state: already decided, decided by someone else."""


class Expired(SteplineError):
    """It was valid, and its time is over: an approval, a link."""


class InvalidInput(SteplineError):
    """What the user gave cannot be used: a command line, a file, a pipeline or state machine
    definition. The CLI exits 2 for it; anything else raised on purpose exits 1."""
