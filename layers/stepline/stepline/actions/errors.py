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


class InvokedFunctionError(ActionError):
    """The user's function ran and failed; the message is the function's own."""
