"""Build, Test and Commands actions (Task: lambda:invoke.waitForTaskToken).

On AWS: start the CodeBuild build; the callbacks function answers the token when it ends.
Locally: run the buildspec here and answer the token at once.
"""

from typing import Any

from stepline.actions.build.codebuild import start_codebuild
from stepline.actions.build.local import LocalBuildSettings, run_local_build
from stepline.actions.request import ActionRequest
from stepline.files import logs_folder
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.settings import settings
from stepline.wiring import artifact_store, build_service, now, secret_store, task_callbacks, waiters


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    current = settings()
    if current.runtime == "local":
        local = LocalBuildSettings(
            current.data / "workspaces",
            logs_folder(current.data),
            secrets=secret_store().get,
            runs=current.data / "runs",
        )
        result = run_local_build(request, artifact_store(), local)
        task_callbacks().succeed(request.task_token or "", result)
        return {"status": "SUCCEEDED"}
    build_id = start_codebuild(
        request, build_service(), waiters(), task_callbacks(), current.artifact_bucket, now(), current.commands_project
    )
    return {"buildId": build_id}
