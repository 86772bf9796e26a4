"""Action types provided by installed Python packages, run in-process (entry point group
``stepline.actions``).

A package declares, in its pyproject.toml::

    [project.entry-points."stepline.actions"]
    word-count = "stepline_wordcount:plugin"

where ``plugin`` is an object with the attributes below and a ``run`` method. Pipelines name
it as a ``Custom``-owned action type (``Test/Custom/WordCount/1``); Stepline validates its
configuration and artifacts like its own providers', and runs it in the plugins function —
in-process locally, in that Lambda on AWS (the package must be in the function's layer).
``examples/plugins/`` holds one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from stepline.errors import ConfigurationError

GROUP = "stepline.actions"
PLUGINS_HANDLER = "PluginsFunctionArn"


@dataclass(frozen=True)
class PluginRun:
    """What a plugin's ``run`` is given: the action's resolved configuration, each input
    artifact unpacked in a folder, an empty folder per output artifact (packed after it
    returns), and the variables the action may read."""

    pipeline: str
    stage: str
    action: str
    execution_id: str
    configuration: Mapping[str, str]
    inputs: Mapping[str, Path]
    outputs: Mapping[str, Path]
    variables: Mapping[str, Mapping[str, str]]


class ActionPlugin(Protocol):
    """An action type run in-process. ``run`` returns the action's output variables; to fail
    the action it raises ``stepline.actions.errors.ActionError`` (or a subclass) with a message
    for people; any other exception fails it as unexpected."""

    category: str  # Source, Build, Test, Deploy or Invoke
    provider: str
    version: str
    required: frozenset[str]  # configuration keys the action must give
    optional: frozenset[str]
    inputs: tuple[int, int]  # how many input artifacts, at least and at most
    outputs: tuple[int, int]

    def run(self, run: PluginRun) -> Mapping[str, str]: ...


class PluginError(ConfigurationError):
    """An installed plugin that cannot be used; the message names its entry point."""


@cache
def installed() -> dict[tuple[str, str, str], ActionPlugin]:
    """Every installed plugin by (category, "Custom", provider), loaded once per process."""
    found: dict[tuple[str, str, str], ActionPlugin] = {}
    for point in entry_points(group=GROUP):
        try:
            plugin = point.load()
        except Exception as error:  # a broken package must not break every pipeline; say which
            raise PluginError(f"entry point {point.name} = {point.value} ({GROUP}) cannot be loaded: {error}") from None
        missing = [name for name in ("category", "provider", "version", "run") if not hasattr(plugin, name)]
        if missing:
            raise PluginError(f"entry point {point.name} = {point.value} ({GROUP}) lacks {', '.join(missing)}")
        found[(plugin.category, "Custom", plugin.provider)] = plugin
    return found


def find_plugin(category: str, provider: str) -> ActionPlugin | None:
    return installed().get((category, "Custom", provider))
