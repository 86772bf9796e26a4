"""Build actions: the buildspec model, the local runner, and CodeBuild on AWS.

``Builds`` is what the build handler calls, whatever the runtime: ``CodeBuildBuilds`` starts the
build on CodeBuild (the callbacks function answers the task when it ends), ``LocalBuilds`` runs
it here under a supervisor and answers at once. Both are actions, so the interface lives here
rather than in ``stepline.ports`` (ports import no action); the composition root picks one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from stepline.actions.request import ActionRequest


class Builds(Protocol):
    def run(self, request: ActionRequest) -> dict[str, Any]:
        """Start or run the action's build; what the handler returns."""
        ...
