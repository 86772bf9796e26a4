"""What every ``stepline`` command shares: the failure that prints one line and exits 1."""

from __future__ import annotations


class CommandFailed(Exception):
    """Something outside the user's input stood in the way (an API's refusal, an unreachable
    server, a missing stack); the message says what, and the command exits 1."""


class BadUsage(Exception):
    """The command line or a file it names is unusable; the command exits 2."""
