"""Errors actions raise. The class name is the error name Step Functions sees, so Retry and
Catch in the compiled state machine match on it; the message says what is wrong and where.

These names are a contract with Step Functions (and with state machines already deployed): a
class here is never renamed. They are ``SteplineError``s like every error the package raises on
purpose (``stepline/errors.py``); ``ConfigurationError`` lives there, shared by every layer, and
is one of these names all the same."""

from __future__ import annotations

from stepline.errors import ConfigurationError, SteplineError


class ActionError(SteplineError):
    """An action failed for a reason the user can act on."""


class TransientActionError(ActionError):
    """Worth retrying: throttling, a network blip. The compiled Retry policy matches this name."""


class SourceNotFoundError(ActionError):
    """The repository, branch, commit or object to fetch does not exist."""


class SourceAccessError(ActionError):
    """The source exists but cannot be read: credentials, permissions, rate limits."""


class ArtifactError(ActionError):
    """An input artifact is missing or unusable, or an output cannot be produced."""


class BuildFailedError(ActionError):
    """The build ran and failed; the message names the phase and command."""


class BuildInterruptedError(ActionError):
    """The build's supervisor vanished mid-build: it may have partly run, so it is not run again."""


class InvokedFunctionError(ActionError):
    """The user's function ran and failed; the message is the function's own."""


# What an action raises on purpose: a failure the user can act on, not a bug with a traceback.
ACTION_FAILURES: tuple[type[SteplineError], ...] = (ActionError, ConfigurationError)


def action_error_names() -> frozenset[str]:
    """Every error name an action raises on purpose: what Retry and Catch can match."""
    return frozenset(cls.__name__ for cls in _known())


def error_named(name: str, message: str) -> SteplineError:
    """The error an earlier attempt recorded by name, raised again with the same name."""
    known = {cls.__name__: cls for cls in _known()}
    if name in known:
        return known[name](message)
    recorded: type[ActionError] = type(name, (ActionError,), {})  # the name stays the error Step Functions sees
    return recorded(message)


def _known() -> list[type[SteplineError]]:
    return [ConfigurationError, *_subclasses(ActionError)]


def _subclasses(base: type[SteplineError]) -> list[type[SteplineError]]:
    found = [base]
    for sub in base.__subclasses__():
        found += _subclasses(sub)
    return found
