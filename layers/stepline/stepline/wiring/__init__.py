"""Where handlers get their adapters: one composition root per runtime, loaded when first asked.

``settings().runtime`` picks the root: ``stepline.wiring.aws`` (boto3 adapters only: a Lambda
handler never imports a local adapter, the engine or sqlite3) or ``stepline.wiring.local`` (files,
SQLite, git and the local runtime's engine). The functions here are what handlers call; the
local runtime installs its engine's callbacks and workflows, and tests their clock.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stepline.actions.approval import LinkSigner
from stepline.actions.deploy.stack_inputs import TemplateUploads
from stepline.errors import ConfigurationError
from stepline.ports.approvals import Approvals, Deliveries, Notifier
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.aws_deploys import Buckets, CodeDeployments, Environments, Stacks
from stepline.ports.builds import BuildService
from stepline.ports.control import EventPublisher, LockStore
from stepline.ports.deployments import ContainerService, FunctionInvoker, LambdaFunctions
from stepline.ports.jobs import ActionTypes, ArtifactCredentials, Jobs
from stepline.ports.pipelines import PipelineHost, Registry
from stepline.ports.pushes import Pushes
from stepline.ports.records import Records
from stepline.ports.secrets import SecretStore
from stepline.ports.sources import ChangedPaths, SourceHeads, SourceProvider
from stepline.ports.statuses import CommitStatuses
from stepline.ports.waiters import TaskCallbacks, Waiters
from stepline.ports.workflows import Workflows
from stepline.settings import LocalSettings, forget, settings
from stepline.triggers.reporting import StatusReporter
from stepline.triggers.starting import PushesToPipelines

if TYPE_CHECKING:
    from stepline.actions.build import Builds
    from stepline.adapters.local.schedules import SqliteSchedules
    from stepline.control.service import RunControl
    from stepline.wiring.aws import AwsRoot
    from stepline.wiring.local import LocalRoot

_roots: list[AwsRoot | LocalRoot] = []
_local_callbacks: list[TaskCallbacks] = []
_local_workflows: list[Workflows] = []
_clocks: list[Callable[[], float]] = []
_pushes: list[Pushes] = []
_hosts: list[PipelineHost] = []


def root() -> AwsRoot | LocalRoot:
    """The composition root of the runtime the settings name, built once (until ``reset``)."""
    current = settings()
    if _roots and _roots[0].settings is current:
        return _roots[0]
    built: AwsRoot | LocalRoot
    if isinstance(current, LocalSettings):
        from stepline.wiring.local import LocalRoot  # noqa: PLC0415 - only the runtime named is loaded

        built = LocalRoot(current, _client, clock(), _installed_callbacks, _installed_workflows)
    else:
        from stepline.wiring.aws import AwsRoot  # noqa: PLC0415 - only the runtime named is loaded

        built = AwsRoot(current, _client, clock())
    _roots[:] = [built]
    return built


def _client(service: str) -> Any:
    return client(service)  # looked up at call time, so a test can replace ``client``


def client(service: str) -> Any:
    from stepline.adapters.aws import aws_client  # noqa: PLC0415 - boto3 only when a client is made

    return aws_client(service, settings().region)


def _installed_callbacks() -> TaskCallbacks | None:
    return _local_callbacks[0] if _local_callbacks else None


def _installed_workflows() -> Workflows | None:
    return _local_workflows[0] if _local_workflows else None


def install_clock(clock: Callable[[], float]) -> None:
    """Tests (and the local engine's driven clock) say what time approvals see."""
    _clocks[:] = [clock]
    _roots.clear()


def clock() -> Callable[[], float]:
    return _clocks[0] if _clocks else time.time


def now() -> float:
    return clock()()


def install_pushes(pushes: Pushes) -> None:
    """The trigger logic (or a test) says where verified GitHub pushes go."""
    _pushes[:] = [pushes]


def pushes() -> Pushes:
    """Verified GitHub pushes start the registered pipelines that match them."""
    if _pushes:
        return _pushes[0]
    return PushesToPipelines(registry(), workflows(), changed_paths)


def install_local_host(host: PipelineHost) -> None:
    """`stepline serve` says which engine `stepline apply` registers pipelines with."""
    _hosts[:] = [host]


def local_host() -> PipelineHost:
    if not _hosts:
        raise ConfigurationError(
            "this server registers no pipelines: run stepline serve locally (on AWS, use stepline deploy)"
        )
    return _hosts[0]


def install_local_callbacks(callbacks: TaskCallbacks) -> None:
    """The local runtime says how to answer its engine's tokens (stepline run / serve)."""
    _local_callbacks[:] = [callbacks]


def install_local_workflows(workflows: Workflows) -> None:
    """The local runtime says where user state machines run (its own engine)."""
    _local_workflows[:] = [workflows]


def reset() -> None:
    """Forget the root, every built adapter and the settings (tests change the environment)."""
    forget()
    if "stepline.adapters.aws" in sys.modules:  # never imported by a local run without AWS
        from stepline.adapters.aws import aws_client  # noqa: PLC0415 - loaded already

        aws_client.cache_clear()
    for installed in (_roots, _local_callbacks, _local_workflows, _clocks, _pushes, _hosts):
        installed.clear()


def artifact_store() -> ArtifactStore:
    return root().artifact_store


def artifact_bucket() -> str:
    """The bucket artifacts go to on AWS; empty on one machine (artifacts are local files)."""
    current = settings()
    return "" if isinstance(current, LocalSettings) else current.artifact_bucket


def secret_store() -> SecretStore:
    return root().secret_store


def source_provider(provider: str) -> SourceProvider:
    return root().source_provider(provider)


def waiters() -> Waiters:
    """Tasks waiting for builds, deployments and executions (in the task tokens table on AWS)."""
    return root().waiters


def build_service() -> BuildService:
    return root().build_service


def builds() -> Builds:
    """CodeBuild on AWS; the supervised local runner on one machine."""
    return root().builds(task_callbacks())


def task_callbacks() -> TaskCallbacks:
    return root().task_callbacks()


def records() -> Records:
    return root().records


def container_service() -> ContainerService:
    return root().container_service()


def lambda_functions() -> LambdaFunctions:
    return root().lambda_functions()


def stacks() -> Stacks:
    """CloudFormation stacks and stack sets (on one machine: AWS, or the emulator configured)."""
    return root().stacks()


def buckets() -> Buckets:
    return root().buckets()


def template_uploads() -> TemplateUploads | None:
    """Where a CloudFormation template too large for a request goes: the artifact bucket on AWS;
    none on one machine (its artifacts are local files)."""
    bucket = artifact_bucket()
    return TemplateUploads(buckets(), bucket, settings().region) if bucket else None


def code_deployments() -> CodeDeployments:
    return root().code_deployments()


def environments() -> Environments:
    return root().environments()


def function_invoker() -> FunctionInvoker:
    return root().function_invoker()


def workflows() -> Workflows:
    return root().workflows()


def registry() -> Registry:
    return root().registry


def changed_paths(provider: str) -> ChangedPaths | None:
    """Who lists a push's changed files when its event does not (GitHub's push event does)."""
    return root().changed_paths(provider)


def local_schedules() -> SqliteSchedules:
    """The schedules `stepline serve` keeps (on AWS, EventBridge Scheduler's: stepline deploy)."""
    kept = getattr(root(), "schedules", None)
    if kept is None:
        raise ConfigurationError("schedules are kept by stepline serve; on AWS, use stepline deploy --schedule")
    return kept  # type: ignore[no-any-return]


def source_heads() -> SourceHeads:
    """What polled sources hold now (PollForSourceChanges: stepline.triggers.polling)."""
    return root().source_heads()


def commit_statuses() -> CommitStatuses:
    """Where executions are reported on the commits they build (--report-status)."""
    return root().commit_statuses()


def status_reporter() -> StatusReporter:
    """Reports executions on the commits they build (the status function, the local runtime)."""
    return StatusReporter(registry(), workflows(), commit_statuses(), deliveries(), settings().api_url)


def approvals() -> Approvals:
    return root().approvals()


def deliveries() -> Deliveries:
    return root().deliveries()


def notifier() -> Notifier:
    return root().notifier()


def link_signer() -> LinkSigner:
    return root().link_signer


def api_token() -> str:
    """The bearer token of the JSON API (stepline approve/reject)."""
    return root().api_token()


def jobs() -> Jobs:
    """Jobs of custom action types, for their workers (the CodePipeline API's job operations)."""
    return root().jobs()


def action_types() -> ActionTypes:
    return root().action_types()


def artifact_credentials() -> ArtifactCredentials:
    """What a custom action's worker reaches its artifacts with."""
    return root().artifact_credentials()


def webhook_secret() -> str:
    return secret_store().get(settings().webhook_secret)


def lock_store() -> LockStore:
    """Run control's per-pipeline lock records (the task tokens table on AWS)."""
    return root().lock_store


def run_control() -> RunControl:
    """The stage gate's decisions applied, and the levers (stepline.control)."""
    from stepline.control.service import RunControl  # noqa: PLC0415 - loaded by the handlers that gate

    built = root()
    approvals = built.control_approvals()
    return RunControl(built.lock_store, task_callbacks(), approvals, clock(), announce=announce, alarms=built.alarms())


def event_publisher() -> EventPublisher:
    """Run control's events: EventBridge's default bus on AWS; the log and webhooks locally."""
    return root().event_publisher()


def announce(pipeline: str, execution_arn: str) -> None:
    """Publish the execution's state changes so far (a stage gate was reached)."""
    from stepline.control.publishing import publish_new  # noqa: PLC0415

    entry = registry().get(pipeline)
    if entry is not None:
        publish_new(entry, execution_arn, workflows(), records(), event_publisher())


def announce_end(execution_arn: str, state_machine_arn: str, status: str) -> str | None:
    """Publish the rest of an ended execution's state changes, if it ran a pipeline: what was
    done (None when it ran no pipeline: then it is a Step Functions invoke action's work)."""
    from stepline.control.publishing import publish_ended  # noqa: PLC0415

    told = publish_ended(execution_arn, state_machine_arn, registry(), workflows(), records(), event_publisher())
    return None if told is None else f"pipeline execution {execution_arn} ended {status}: {told} events published"
