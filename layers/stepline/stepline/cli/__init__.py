"""The ``stepline`` command, one module per command group.

``main`` builds the parser and maps errors to exit codes (``exits``); ``options`` holds what
commands share (``--data``, ``--port``, the API token); ``render`` prints for people and for
programs. Each command module imports its machinery when it runs, so ``stepline --version``
and ``stepline validate`` load only what they use.
"""

from stepline.cli.main import main

__all__ = ["main"]
