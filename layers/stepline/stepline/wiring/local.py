"""The composition root on one machine (`stepline run`, `stepline serve`): files, SQLite and git
serve the ports, and the local runtime's engine answers task tokens and runs state machines.
Loaded only when the settings say ``local``; an AWS adapter is imported only when a port with no
local stand-in is asked for (ECS and Lambda deployments go to AWS when credentials are present)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from stepline.actions.approval import LinkSigner
from stepline.actions.build import Builds
from stepline.actions.build.local import LocalBuilds, LocalBuildSettings
from stepline.actions.ecr_source import EcrImageSource
from stepline.adapters.local.alarms import FileAlarms
from stepline.adapters.local.approvals import SqliteApprovals
from stepline.adapters.local.artifact_credentials import ServerArtifactCredentials
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.adapters.local.events import LocalEventPublisher
from stepline.adapters.local.functions import LocalFunctionInvoker, load_callable
from stepline.adapters.local.git import GitChangedPaths
from stepline.adapters.local.heads import LocalSourceHeads
from stepline.adapters.local.jobs import SqliteJobs
from stepline.adapters.local.locks import SqliteLocks
from stepline.adapters.local.notifications import TerminalNotifier
from stepline.adapters.local.records import FileRecords
from stepline.adapters.local.registry import SqliteRegistry
from stepline.adapters.local.schedules import SqliteSchedules
from stepline.adapters.local.secrets import EnvironmentSecretStore
from stepline.adapters.local.sources import LocalGitSources
from stepline.adapters.local.waiters import SqliteWaiters
from stepline.errors import ConfigurationError
from stepline.files import logs_folder
from stepline.ports.approvals import Approvals, Deliveries, Notifier
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.aws_deploys import Buckets, CodeDeployments, Environments, Stacks
from stepline.ports.builds import BuildService
from stepline.ports.control import Alarms, EventPublisher, LockStore
from stepline.ports.deployments import ContainerService, FunctionInvoker, LambdaFunctions
from stepline.ports.jobs import ActionTypes, ArtifactCredentials, Jobs
from stepline.ports.pipelines import Registry
from stepline.ports.records import Records
from stepline.ports.secrets import SecretStore
from stepline.ports.sources import ChangedPaths, SourceHeads, SourceProvider
from stepline.ports.statuses import CommitStatuses
from stepline.ports.waiters import TaskCallbacks, Waiters
from stepline.ports.workflows import Workflows
from stepline.settings import LocalSettings

Client = Callable[[str], Any]


class LocalRoot:
    """Which local adapter serves each port; ``engine_callbacks`` and ``engine_workflows`` are what
    the local runtime installed (None outside `stepline run` and `stepline serve`)."""

    def __init__(
        self,
        settings: LocalSettings,
        client: Client,
        clock: Callable[[], float],
        engine_callbacks: Callable[[], TaskCallbacks | None],
        engine_workflows: Callable[[], Workflows | None],
    ) -> None:
        self.settings = settings
        self.data = settings.data
        self.clock = clock
        self._engine_callbacks = engine_callbacks
        self._engine_workflows = engine_workflows
        self.client = client

    @cached_property
    def artifact_store(self) -> ArtifactStore:
        return LocalArtifactStore(self.data / "artifacts")

    @cached_property
    def secret_store(self) -> SecretStore:
        return EnvironmentSecretStore()

    def source_provider(self, provider: str) -> SourceProvider:
        if provider == "ECR":  # an image reference file mapped to the repository, else ECR itself
            from stepline.adapters.aws.ecr import EcrImages  # noqa: PLC0415 - AWS only when asked

            return EcrImageSource(EcrImages(self._aws("ecr")), self.settings.sources, self.settings.base)

        def registered(pipeline: str) -> dict[str, str]:
            entry = self.registry.get(pipeline)
            return entry.sources if entry is not None else {}

        return LocalGitSources(self.settings.base, self.data / "git-cache", self.settings.sources, registered)

    def _aws(self, service: str) -> Any:
        """A client for the providers that act on an AWS account from this machine: where
        STEPLINE_AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL) points, such as moto's server, else AWS."""
        endpoint = self.settings.aws_endpoint_url
        if not endpoint:
            return self.client(service)
        from stepline.adapters.aws import aws_client  # noqa: PLC0415 - AWS only when asked

        return aws_client(service, self.settings.region, endpoint)

    @cached_property
    def waiters(self) -> Waiters:
        return SqliteWaiters(self.data / "waiters.sqlite")

    @property
    def build_service(self) -> BuildService:
        from stepline.adapters.aws.codebuild import CodeBuildService  # noqa: PLC0415 - AWS only when asked

        return CodeBuildService(self.client("codebuild"))

    def builds(self, callbacks: TaskCallbacks) -> Builds:
        """Builds run here, supervised (stepline.actions.build.supervisor), and answer the token at once."""
        variables = {
            "STEPLINE_RUNTIME": "local",
            "STEPLINE_DATA": str(self.data),
            "STEPLINE_RELEASES": str(self.settings.release_folder),
        }
        local = LocalBuildSettings(
            self.data / "workspaces",
            logs_folder(self.data),
            secrets=self.secret_store.get,
            runs=self.data / "runs",
            variables=variables,
        )
        return LocalBuilds(self.artifact_store, local, callbacks)

    def task_callbacks(self) -> TaskCallbacks:
        installed = self._engine_callbacks()
        if installed is None:
            raise ConfigurationError(
                "no local engine answers task tokens here: run the pipeline with stepline run or serve"
            )
        return installed

    @cached_property
    def records(self) -> Records:
        return FileRecords(self.data / "records")

    def container_service(self) -> ContainerService:
        # ECS has no local stand-in: a local run deploys to ECS when AWS credentials are present.
        from stepline.adapters.aws.ecs import EcsService  # noqa: PLC0415 - AWS only when asked

        return EcsService(self._aws("ecs"))

    def lambda_functions(self) -> LambdaFunctions:
        # Lambda deployments go to AWS from either runtime; locally when credentials are present.
        from stepline.adapters.aws.lambdas import AwsLambdaFunctions  # noqa: PLC0415 - AWS only when asked

        return AwsLambdaFunctions(self._aws("lambda"), self._aws("cloudwatch"))

    # CloudFormation, S3, CodeDeploy and Elastic Beanstalk deploys act on an AWS account from
    # this machine too (credentials, or the emulator configured): there is no local stand-in.
    def stacks(self) -> Stacks:
        from stepline.adapters.aws.cloudformation import CloudFormationStacks  # noqa: PLC0415 - AWS only when asked

        return CloudFormationStacks(self._aws("cloudformation"))

    def buckets(self) -> Buckets:
        from stepline.adapters.aws.buckets import S3Buckets  # noqa: PLC0415 - AWS only when asked

        return S3Buckets(self._aws("s3"))

    def code_deployments(self) -> CodeDeployments:
        from stepline.adapters.aws.codedeploy import CodeDeployService  # noqa: PLC0415 - AWS only when asked

        return CodeDeployService(self._aws("codedeploy"))

    def environments(self) -> Environments:
        from stepline.adapters.aws.beanstalk import BeanstalkEnvironments  # noqa: PLC0415 - AWS only when asked

        return BeanstalkEnvironments(self._aws("elasticbeanstalk"))

    def function_invoker(self) -> FunctionInvoker:
        functions = self.settings.functions
        return LocalFunctionInvoker(
            {name: load_callable(target, f"STEPLINE_FUNCTIONS {name}") for name, target in functions.items()}
        )

    def workflows(self) -> Workflows:
        installed = self._engine_workflows()
        if installed is None:
            raise ConfigurationError(
                "no local engine runs state machines here: run the pipeline with stepline run or serve"
            )
        return installed

    @cached_property
    def registry(self) -> Registry:
        return SqliteRegistry(self.data / "pipelines.sqlite")

    def changed_paths(self, provider: str) -> ChangedPaths | None:
        """Local repositories list a push's files with git; a CodeCommit repository asks AWS."""
        if provider == "Git":
            return GitChangedPaths()
        if provider == "CodeCommit":
            from stepline.adapters.aws.sources import CodeCommitChangedPaths  # noqa: PLC0415 - AWS only when asked

            return CodeCommitChangedPaths(self.client("codecommit"))
        if provider == "GitHub":  # a pull request's files, from GitHub's API
            from stepline.adapters.github import UrllibHttpClient  # noqa: PLC0415 - GitHub only when asked
            from stepline.adapters.github_changes import GitHubChangedPaths  # noqa: PLC0415

            return GitHubChangedPaths(UrllibHttpClient(), self.secret_store, self.settings.github_token_secret)
        return None

    @cached_property
    def schedules(self) -> SqliteSchedules:
        """What `stepline apply --schedule` recorded, for `stepline serve`'s clock."""
        return SqliteSchedules(self.data / "schedules.sqlite")

    def source_heads(self) -> SourceHeads:
        """What polled sources hold now: the mapped local repositories' branch heads."""
        return LocalSourceHeads(LocalGitSources(self.settings.base, self.data / "git-cache", self.settings.sources))

    def commit_statuses(self) -> CommitStatuses:
        from stepline.adapters.commit_statuses import ForgeCommitStatuses, forges  # noqa: PLC0415 - forges only when asked

        current = self.settings
        return ForgeCommitStatuses(
            self.secret_store,
            forges(
                (current.github_api_url, current.github_token_secret),
                (current.gitlab_api_url, current.gitlab_token_secret),
                (current.bitbucket_api_url, current.bitbucket_token_secret),
            ),
        )

    @cached_property
    def _approvals_store(self) -> SqliteApprovals:
        return SqliteApprovals(self.data / "approvals.sqlite")

    def approvals(self) -> Approvals:
        return self._approvals_store

    def control_approvals(self) -> Approvals | None:
        """Where run control supersedes stale approvals."""
        return self._approvals_store

    @cached_property
    def lock_store(self) -> LockStore:
        """Run control's per-pipeline lock records."""
        return SqliteLocks(self.data / "locks.sqlite")

    def alarms(self) -> Alarms:
        """What CloudWatchAlarm rules read here: <data>/alarms.json (CloudWatch has no local stand-in)."""
        return FileAlarms(self.data / "alarms.json")

    def event_publisher(self) -> EventPublisher:
        """Run control's events: the server's log and the subscribers' webhooks."""
        return LocalEventPublisher(self.settings.event_webhooks)

    def deliveries(self) -> Deliveries:
        return self._approvals_store

    def notifier(self) -> Notifier:
        return TerminalNotifier(webhook_url=self.settings.notify_url)

    @cached_property
    def link_signer(self) -> LinkSigner:
        return LinkSigner(self._secret(self.settings.link_key_secret, self.data / "link-key").encode())

    def api_token(self) -> str:
        """The bearer token of the JSON API (stepline approve/reject)."""
        return self._secret(self.settings.api_token_secret, self.data / "api-token")

    @cached_property
    def _jobs_store(self) -> SqliteJobs:
        return SqliteJobs(self.data / "jobs.sqlite")

    def jobs(self) -> Jobs:
        return self._jobs_store

    def action_types(self) -> ActionTypes:
        return self._jobs_store

    def artifact_credentials(self) -> ArtifactCredentials:
        """A job worker's: this server's own key; it serves only the objects a job names."""
        return ServerArtifactCredentials(self.api_token())

    def _secret(self, name: str, file: Path) -> str:
        """A secret from the store, or one made once for this machine (0600) so serve just works."""
        try:
            return self.secret_store.get(name)
        except LookupError:
            pass
        if not file.exists():
            file.parent.mkdir(parents=True, exist_ok=True)
            partial = file.with_suffix(".partial")
            partial.touch(mode=0o600)
            partial.write_text(secrets.token_urlsafe(32), encoding="utf-8")
            partial.replace(file)
        return file.read_text(encoding="utf-8").strip()
