"""Errors actions raise. The class name is the error name Step Functions sees, so Retry and
Catch in the compiled state machine match on it; the message says what is wrong and where."""

from __future__ import annotations


class ActionError(Exception):
    """An action failed for a reason the user can act on."""


class TransientActionError(ActionError):
    """Worth retrying: throttling, a network blip. The compiled Retry policy matches this name."""


class ConfigurationError(ActionError):
    """The action's configuration or the request it received cannot work."""


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


def error_named(name: str, message: str) -> ActionError:
    """The error an earlier attempt recorded by name, raised again with the same name."""
    known = {cls.__name__: cls for cls in _subclasses(ActionError)}
    if name in known:
        return known[name](message)
    recorded: type[ActionError] = type(name, (ActionError,), {})  # the name stays the error Step Functions sees
    return recorded(message)


def _subclasses(base: type[ActionError]) -> list[type[ActionError]]:
    found = [base]
    for sub in base.__subclasses__():
        found += _subclasses(sub)
    return found
