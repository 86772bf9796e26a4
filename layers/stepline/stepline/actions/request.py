"""What a Task state sends an action (see compiler/asl.py), parsed at the edge into a model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stepline.actions.build.shell import ShellCommands, commands_for_shell
from stepline.definition.models import ActionDeclaration
from stepline.definition.variables import resolve_all
from stepline.errors import ConfigurationError


class ExecutionRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    name: str


class ActionRequest(BaseModel):
    """The payload every action handler receives."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    pipeline: str
    stage: str
    action: ActionDeclaration
    execution: ExecutionRef
    trigger: dict[str, Any] = Field(default_factory=dict)
    artifacts: dict[str, dict[str, str]] = Field(default_factory=dict)
    variables: dict[str, dict[str, str]] = Field(default_factory=dict)
    task_token: str | None = Field(None, alias="taskToken")

    @property
    def label(self) -> str:
        """``Stage.Action``: how messages, waiters and records name this action."""
        return f"{self.stage}.{self.action.name}"

    def waiting_token(self, what: str) -> str:
        """The task token an action that ends later (a build, a deployment, …) waits with;
        ``what`` names that action in the error when the Task sent none."""
        if self.task_token is None:
            raise ConfigurationError(f"{self.label}: {what} waits for a task token, and none came")
        return self.task_token

    def configuration(self) -> dict[str, str]:
        """The action's configuration with every #{…} variable resolved, as when CodePipeline starts it."""
        return resolve_all(self.action.configuration, self.variables)

    def commands(self) -> ShellCommands:
        """A Commands action's commands, each #{…} variable read from the environment they
        come with (never pasted into the shell's text: see actions/build/shell.py)."""
        return commands_for_shell(list(self.action.commands or []), self.variables)

    def revision(self) -> dict[str, Any]:
        """What the trigger says about this source action (commit, reference), if anything."""
        revisions = self.trigger.get("revisions", {})
        found = revisions.get(self.action.name, {}) if isinstance(revisions, dict) else {}
        return found if isinstance(found, dict) else {}


def action_result(artifacts: dict[str, dict[str, str]], variables: dict[str, str]) -> dict[str, Any]:
    """What an action returns (or sends with its task token): the compiled ResultSelector reads it."""
    return {"artifacts": artifacts, "variables": variables}
