"""Deploy/AWS/ElasticBeanstalk: the input artifact as a new application version, deployed to the
environment, finished when the environment is Ready again and healthy.

The artifact's zip goes to the account's Elastic Beanstalk bucket (CreateStorageLocation, as
the EB CLI does), becomes application version ``stepline-<execution>-<digest>`` (≤ 100
characters) and the environment is updated to it. The waiter (kind ``beanstalk``) is answered
by the sweeper's DescribeEnvironments: Ready, running this version, with a health other than
Red succeeds; Ready on another version (the update was rolled back) or Red fails, naming the
environment's latest ERROR event. The version is recorded, so a retry deploys it once.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from stepline.actions.completions import (
    Answer,
    WorkKind,
    action_digest,
    answered_before,
    attach,
    failed,
    register,
    waiter_key,
)
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest, action_result
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.aws_deploys import Buckets, Environments
from stepline.ports.records import Records
from stepline.ports.waiters import Completion, TaskCallbacks, Waiter, Waiters

# CodePipeline's limit on an Elastic Beanstalk input artifact.
MAX_BUNDLE_BYTES = 512 * 1024 * 1024


def deploy_to_environment(
    request: ActionRequest,
    store: ArtifactStore,
    environments: Environments,
    buckets: Buckets,
    waiters: Waiters,
    records: Records,
    callbacks: TaskCallbacks,
    now: float,
) -> dict[str, str]:
    label = request.label
    task_token = request.waiting_token("an Elastic Beanstalk deploy")
    configuration = request.configuration()
    application, environment = configuration["ApplicationName"], configuration["EnvironmentName"]
    key = waiter_key("beanstalk", request.execution.id, label)
    waiter = register(waiters, Waiter(key=key, kind="beanstalk", token=task_token, action=label), now)
    kind = environment_work(environments)
    if answered_before(waiter, kind, waiters, callbacks) is not None:
        return waiter.work
    record_key = f"{request.execution.id}/{label}"
    recorded = (records.get(record_key) or {}).get("work")
    work = waiter.work or ({str(k): str(v) for k, v in recorded.items()} if isinstance(recorded, dict) else None)
    if not work:
        if environments.environment(environment, application) is None:
            raise ConfigurationError(
                f"{label}: Elastic Beanstalk environment {environment!r} of {application!r} does not exist"
            )
        version = f"stepline-{request.execution.name}"[:90] + "-" + action_digest(request.execution.id, label)[:8]
        bucket = environments.storage_bucket()
        _upload(request, store, buckets, bucket, f"{application}/{version}.zip", label)
        environments.create_version(
            application, version, bucket, f"{application}/{version}.zip", f"{request.pipeline} {label}"
        )
        environments.update(environment, application, version)
        work = {"application": application, "environment": environment, "version": version}
        records.put(record_key, {"work": work})
    attach(waiters, waiter, f"beanstalk#{application}/{environment}/{work['version']}", work, kind, callbacks)
    return work


def _upload(request: ActionRequest, store: ArtifactStore, buckets: Buckets, bucket: str, key: str, label: str) -> None:
    name = request.action.input_artifacts[0].name
    reference = request.artifacts.get(name)
    if reference is None:
        raise ArtifactError(f"{label}: input artifact {name!r} was not produced in this execution")
    with tempfile.TemporaryDirectory(prefix="stepline-beanstalk-") as scratch:
        bundle = Path(scratch) / "bundle.zip"
        store.get(reference, bundle)
        if bundle.stat().st_size > MAX_BUNDLE_BYTES:
            raise ArtifactError(f"{label}: input artifact {name!r} is larger than CodePipeline's 512 MB")
        buckets.put_file(bucket, key, bundle, {"ContentType": "application/zip"})


def environment_work(environments: Environments) -> WorkKind:
    def answer(waiter: Waiter, completion: Completion) -> Answer:
        if not completion.succeeded:
            return Answer(error=completion.error, cause=completion.cause)
        return Answer(output=action_result({}, {"VersionLabel": waiter.work["version"]}))

    def poll(waiting: list[Waiter]) -> dict[str, Completion]:
        finished: dict[str, Completion] = {}
        for waiter in waiting:
            ended = environment_ended(environments, waiter.work)
            if ended is not None:
                finished[waiter.key] = ended
        return finished

    return WorkKind(answer=answer, poll=poll)


def environment_ended(environments: Environments, work: dict[str, str]) -> Completion | None:
    application, environment, version = work["application"], work["environment"], work["version"]
    found = environments.environment(environment, application)
    if found is None:
        return failed("DeploymentFailed", f"Elastic Beanstalk environment {environment} is gone")
    if found.get("Status") != "Ready":
        return None  # Launching, Updating
    running, health = found.get("VersionLabel"), found.get("Health")
    if running == version and health != "Red":
        return Completion(succeeded=True)
    errors = environments.error_events(environment, application)
    state = f"environment {environment} is {health}, running {running}" + (
        f" instead of {version}" if running != version else ""
    )
    return failed("DeploymentFailed", f"{state}: {errors[0] if errors else 'no error event'}")
