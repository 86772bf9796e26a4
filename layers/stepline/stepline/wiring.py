"""The composition root: which adapter serves each port, from the settings. Handlers ask here.

On AWS every port is a boto3-backed adapter with one client per service (built once, reused
across invocations). Locally, files and git serve the same ports; the local runtime installs
the callbacks that answer its engine's task tokens.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from stepline.actions.approval import LinkSigner
from stepline.adapters.aws import aws_client
from stepline.adapters.aws.approvals import DynamoApprovals, SnsNotifier
from stepline.adapters.aws.artifacts import S3ArtifactStore
from stepline.adapters.aws.codebuild import CodeBuildService
from stepline.adapters.aws.ecs import EcsService
from stepline.adapters.aws.functions import LambdaInvoker
from stepline.adapters.aws.lambdas import AwsLambdaFunctions
from stepline.adapters.aws.registry import DynamoRegistry
from stepline.adapters.aws.secrets import SecretsManagerSecretStore
from stepline.adapters.aws.sources import CodeCommitChangedPaths, CodeCommitSource, S3ObjectSource
from stepline.adapters.aws.stepfunctions import StepFunctionsCallbacks
from stepline.adapters.aws.tokens import DynamoRecords
from stepline.adapters.aws.waiters import DynamoWaiters
from stepline.adapters.aws.workflows import StepFunctionsWorkflows
from stepline.adapters.github import GitHubSource, UrllibHttpClient
from stepline.adapters.local.approvals import SqliteApprovals
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.adapters.local.functions import LocalFunctionInvoker, load_callable
from stepline.adapters.local.git import GitChangedPaths
from stepline.adapters.local.notifications import TerminalNotifier
from stepline.adapters.local.records import FileRecords
from stepline.adapters.local.registry import SqliteRegistry
from stepline.adapters.local.secrets import EnvironmentSecretStore
from stepline.adapters.local.sources import LocalGitSources
from stepline.adapters.local.waiters import SqliteWaiters
from stepline.errors import ConfigurationError
from stepline.ports.approvals import Approvals, Deliveries, Notifier
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.builds import BuildService
from stepline.ports.deployments import ContainerService, FunctionInvoker, LambdaFunctions
from stepline.ports.pipelines import PipelineHost, Registry
from stepline.ports.pushes import Pushes
from stepline.ports.records import Records
from stepline.ports.secrets import SecretStore
from stepline.ports.sources import ChangedPaths, SourceProvider
from stepline.ports.waiters import TaskCallbacks, Waiters
from stepline.ports.workflows import Workflows
from stepline.settings import require, settings
from stepline.triggers.starting import PushesToPipelines

_local_callbacks: list[TaskCallbacks] = []
_local_workflows: list[Workflows] = []
_clocks: list[Callable[[], float]] = []
_pushes: list[Pushes] = []
_hosts: list[PipelineHost] = []


def install_clock(clock: Callable[[], float]) -> None:
    """Tests (and the local engine's driven clock) say what time approvals see."""
    _clocks[:] = [clock]


def clock() -> Callable[[], float]:
    return _clocks[0] if _clocks else time.time


def now() -> float:
    return clock()()


def install_pushes(pushes: Pushes) -> None:
    """The trigger logic (or a test) says where verified GitHub pushes go."""
    _pushes[:] = [pushes]


def pushes() -> Pushes:
    """Verified GitHub pushes start the registered pipelines that match them."""
    return _pushes[0] if _pushes else PushesToPipelines(registry(), workflows())


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
    """Forget every built adapter and the settings (tests change the environment)."""
    for cached in (
        settings,
        aws_client,
        artifact_store,
        secret_store,
        waiters,
        build_service,
        records,
        _approvals_store,
        link_signer,
        registry,
    ):
        cached.cache_clear()
    for installed in (_local_callbacks, _local_workflows, _clocks, _pushes, _hosts):
        installed.clear()


def client(service: str) -> Any:
    return aws_client(service, settings().region)


@lru_cache(maxsize=1)
def artifact_store() -> ArtifactStore:
    if settings().runtime == "local":
        return LocalArtifactStore(settings().artifacts_dir)
    return S3ArtifactStore(
        client("s3"), require(settings().artifact_bucket, "ARTIFACT_BUCKET"), settings().artifact_kms_key_id
    )


@lru_cache(maxsize=1)
def secret_store() -> SecretStore:
    if settings().runtime == "local":
        return EnvironmentSecretStore()
    return SecretsManagerSecretStore(client("secretsmanager"))


def source_provider(provider: str) -> SourceProvider:
    current = settings()
    if current.runtime == "local":
        return LocalGitSources(current.base, current.data / "git-cache", current.sources)
    if provider == "CodeCommit":
        return CodeCommitSource(client("codecommit"))
    if provider == "S3":
        return S3ObjectSource(client("s3"))
    if provider in {"CodeStarSourceConnection", "GitHub"}:
        return GitHubSource(UrllibHttpClient(), secret_store(), current.github_token_secret)
    raise ConfigurationError(
        f"Source/{provider} runs only on one machine (stepline run); on AWS use CodeCommit, S3 or a connection"
    )


@lru_cache(maxsize=1)
def waiters() -> Waiters:
    """Tasks waiting for builds, deployments and executions (in the task tokens table on AWS)."""
    if settings().runtime == "local":
        return SqliteWaiters(settings().data / "waiters.sqlite")
    return DynamoWaiters(client("dynamodb"), require(settings().task_tokens_table, "TASK_TOKENS_TABLE"))


@lru_cache(maxsize=1)
def build_service() -> BuildService:
    return CodeBuildService(client("codebuild"))


def task_callbacks() -> TaskCallbacks:
    if settings().runtime == "local":
        if not _local_callbacks:
            raise ConfigurationError(
                "no local engine answers task tokens here: run the pipeline with stepline run or serve"
            )
        return _local_callbacks[0]
    return StepFunctionsCallbacks(client("stepfunctions"))


@lru_cache(maxsize=1)
def records() -> Records:
    if settings().runtime == "local":
        return FileRecords(settings().data / "records")
    return DynamoRecords(client("dynamodb"), require(settings().task_tokens_table, "TASK_TOKENS_TABLE"))


def container_service() -> ContainerService:
    # ECS has no local stand-in: a local run deploys to ECS when AWS credentials are present.
    return EcsService(client("ecs"))


def lambda_functions() -> LambdaFunctions:
    # Lambda deployments go to AWS from either runtime; locally when credentials are present.
    return AwsLambdaFunctions(client("lambda"), client("cloudwatch"))


def function_invoker() -> FunctionInvoker:
    if settings().runtime == "local":
        mapping = {
            name: load_callable(target, f"STEPLINE_FUNCTIONS {name}") for name, target in settings().functions.items()
        }
        return LocalFunctionInvoker(mapping)
    return LambdaInvoker(client("lambda"))


def workflows() -> Workflows:
    if settings().runtime == "local":
        if not _local_workflows:
            raise ConfigurationError(
                "no local engine runs state machines here: run the pipeline with stepline run or serve"
            )
        return _local_workflows[0]
    return StepFunctionsWorkflows(client("stepfunctions"))


@lru_cache(maxsize=1)
def registry() -> Registry:
    if settings().runtime == "local":
        return SqliteRegistry(settings().data / "pipelines.sqlite")
    return DynamoRegistry(client("dynamodb"), require(settings().pipelines_table, "PIPELINES_TABLE"))


def changed_paths(provider: str) -> ChangedPaths | None:
    """Who lists a push's changed files when its event does not (GitHub's push event does)."""
    if provider == "CodeCommit":
        return CodeCommitChangedPaths(client("codecommit"))
    if provider == "Git":
        return GitChangedPaths()
    return None


@lru_cache(maxsize=1)
def _approvals_store() -> SqliteApprovals | DynamoApprovals:
    if settings().runtime == "local":
        return SqliteApprovals(settings().data / "approvals.sqlite")
    return DynamoApprovals(client("dynamodb"), require(settings().approvals_table, "APPROVALS_TABLE"))


def approvals() -> Approvals:
    return _approvals_store()


def deliveries() -> Deliveries:
    return _approvals_store()


def notifier() -> Notifier:
    if settings().runtime == "local":
        return TerminalNotifier(webhook_url=settings().notify_url)
    return SnsNotifier(client("sns"), settings().notification_topic)


def _local_secret(name: str, file: Path) -> str:
    """A secret from the store, or one made once for this machine (0600) so serve just works."""
    try:
        return secret_store().get(name)
    except LookupError:
        pass
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        partial = file.with_suffix(".partial")
        partial.touch(mode=0o600)
        partial.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        partial.replace(file)
    return file.read_text(encoding="utf-8").strip()


@lru_cache(maxsize=1)
def link_signer() -> LinkSigner:
    current = settings()
    if current.runtime == "local":
        return LinkSigner(_local_secret(current.link_key_secret, current.data / "link-key").encode())
    return LinkSigner(secret_store().get(current.link_key_secret).encode())


def api_token() -> str:
    """The bearer token of the JSON API (stepline approve/reject)."""
    current = settings()
    if current.runtime == "local":
        return _local_secret(current.api_token_secret, current.data / "api-token")
    return secret_store().get(current.api_token_secret)


def webhook_secret() -> str:
    return secret_store().get(settings().webhook_secret)
