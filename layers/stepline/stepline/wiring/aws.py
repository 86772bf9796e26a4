"""The composition root on AWS: every port served by a boto3-backed adapter (one client per
service, built once and reused across invocations). Imports no local adapter, so a Lambda
handler never loads them, the engine or sqlite3 (tests/unit/test_architecture.py checks it)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from stepline.actions.approval import LinkSigner
from stepline.actions.build import Builds
from stepline.actions.build.codebuild import CodeBuildBuilds
from stepline.actions.ecr_source import EcrImageSource
from stepline.adapters.aws.alarms import CloudWatchAlarms
from stepline.adapters.aws.approvals import DynamoApprovals, SnsNotifier
from stepline.adapters.aws.artifact_credentials import StsArtifactCredentials
from stepline.adapters.aws.artifacts import S3ArtifactStore
from stepline.adapters.aws.beanstalk import BeanstalkEnvironments
from stepline.adapters.aws.buckets import S3Buckets
from stepline.adapters.aws.cloudformation import CloudFormationStacks
from stepline.adapters.aws.codebuild import CodeBuildService
from stepline.adapters.aws.codedeploy import CodeDeployService
from stepline.adapters.aws.comments import CodeCommitPullRequestComments
from stepline.adapters.aws.ecr import EcrImages
from stepline.adapters.aws.ecs import EcsService
from stepline.adapters.aws.events import EventBridgePublisher
from stepline.adapters.aws.functions import LambdaInvoker
from stepline.adapters.aws.heads import AwsSourceHeads
from stepline.adapters.aws.jobs import DynamoJobs
from stepline.adapters.aws.lambdas import AwsLambdaFunctions
from stepline.adapters.aws.locks import DynamoLocks
from stepline.adapters.aws.registry import DynamoRegistry
from stepline.adapters.aws.secrets import SecretsManagerSecretStore
from stepline.adapters.aws.sources import CodeCommitChangedPaths, CodeCommitSource, S3ObjectSource
from stepline.adapters.aws.stepfunctions import StepFunctionsCallbacks
from stepline.adapters.aws.tokens import DynamoRecords
from stepline.adapters.aws.waiters import DynamoWaiters
from stepline.adapters.aws.workflows import StepFunctionsWorkflows
from stepline.adapters.commit_statuses import ForgeCommitStatuses, forges
from stepline.adapters.github import GitHubSource, UrllibHttpClient
from stepline.adapters.github_changes import GitHubChangedPaths, GitHubHeads
from stepline.errors import ConfigurationError
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
from stepline.settings import AwsSettings, require

Client = Callable[[str], Any]


class AwsRoot:
    """Which AWS adapter serves each port. ``client`` makes (or finds) a boto3 client by service."""

    def __init__(self, settings: AwsSettings, client: Client, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.client = client
        self.clock = clock

    @cached_property
    def artifact_store(self) -> ArtifactStore:
        return S3ArtifactStore(self.client("s3"), self.settings.artifact_bucket, self.settings.artifact_kms_key_id)

    @cached_property
    def secret_store(self) -> SecretStore:
        return SecretsManagerSecretStore(self.client("secretsmanager"))

    def source_provider(self, provider: str) -> SourceProvider:
        if provider == "ECR":
            return EcrImageSource(EcrImages(self.client("ecr")))
        if provider == "CodeCommit":
            return CodeCommitSource(self.client("codecommit"))
        if provider == "S3":
            return S3ObjectSource(self.client("s3"))
        if provider in {"CodeStarSourceConnection", "GitHub"}:
            return GitHubSource(UrllibHttpClient(), self.secret_store, self.settings.github_token_secret)
        raise ConfigurationError(
            f"Source/{provider} runs only on one machine (stepline run); on AWS use CodeCommit, S3 or a connection"
        )

    @cached_property
    def waiters(self) -> Waiters:
        """Tasks waiting for builds, deployments and executions (in the task tokens table)."""
        return DynamoWaiters(self.client("dynamodb"), self.settings.task_tokens_table)

    @cached_property
    def build_service(self) -> BuildService:
        return CodeBuildService(self.client("codebuild"))

    def builds(self, callbacks: TaskCallbacks) -> Builds:
        """Builds start on CodeBuild; the callbacks function answers the token when one ends."""
        current = self.settings
        return CodeBuildBuilds(
            self.build_service, self.waiters, callbacks, current.artifact_bucket, self.clock, current.commands_project
        )

    def task_callbacks(self) -> TaskCallbacks:
        return StepFunctionsCallbacks(self.client("stepfunctions"))

    @cached_property
    def records(self) -> Records:
        return DynamoRecords(self.client("dynamodb"), self.settings.task_tokens_table)

    def container_service(self) -> ContainerService:
        return EcsService(self.client("ecs"))

    def lambda_functions(self) -> LambdaFunctions:
        return AwsLambdaFunctions(self.client("lambda"), self.client("cloudwatch"))

    def stacks(self) -> Stacks:
        return CloudFormationStacks(self.client("cloudformation"))

    def buckets(self) -> Buckets:
        return S3Buckets(self.client("s3"))

    def code_deployments(self) -> CodeDeployments:
        return CodeDeployService(self.client("codedeploy"))

    def environments(self) -> Environments:
        return BeanstalkEnvironments(self.client("elasticbeanstalk"))

    def function_invoker(self) -> FunctionInvoker:
        return LambdaInvoker(self.client("lambda"))

    def workflows(self) -> Workflows:
        return StepFunctionsWorkflows(self.client("stepfunctions"))

    @cached_property
    def registry(self) -> Registry:
        return DynamoRegistry(self.client("dynamodb"), require(self.settings.pipelines_table, "PIPELINES_TABLE"))

    def changed_paths(self, provider: str) -> ChangedPaths | None:
        """Who lists a push's changed files when its event does not (GitHub's push event does)."""
        if provider == "CodeCommit":
            return CodeCommitChangedPaths(self.client("codecommit"))
        if provider == "GitHub":  # a pull request's files
            return GitHubChangedPaths(UrllibHttpClient(), self.secret_store, self.settings.github_token_secret)
        return None

    def source_heads(self) -> SourceHeads:
        """What polled sources hold now (PollForSourceChanges)."""
        github = GitHubHeads(UrllibHttpClient(), self.secret_store, self.settings.github_token_secret)
        return AwsSourceHeads(self.client("codecommit"), self.client("s3"), github)

    def commit_statuses(self) -> CommitStatuses:
        current = self.settings
        return ForgeCommitStatuses(
            self.secret_store,
            forges(
                (current.github_api_url, current.github_token_secret),
                (current.gitlab_api_url, current.gitlab_token_secret),
                (current.bitbucket_api_url, current.bitbucket_token_secret),
            ),
            {"CodeCommit": CodeCommitPullRequestComments(self.client("codecommit"))},
        )

    @cached_property
    def _approvals_store(self) -> DynamoApprovals:
        return DynamoApprovals(self.client("dynamodb"), require(self.settings.approvals_table, "APPROVALS_TABLE"))

    def approvals(self) -> Approvals:
        return self._approvals_store

    def control_approvals(self) -> Approvals | None:
        """Where run control supersedes stale approvals: the functions given the approvals table."""
        return self._approvals_store if self.settings.approvals_table else None

    @cached_property
    def lock_store(self) -> LockStore:
        """Run control's per-pipeline lock records (the task tokens table, ``lock#<pipeline>``)."""
        return DynamoLocks(self.client("dynamodb"), self.settings.task_tokens_table)

    def alarms(self) -> Alarms:
        """What CloudWatchAlarm rules read: DescribeAlarms."""
        return CloudWatchAlarms(self.client("cloudwatch"))

    def event_publisher(self) -> EventPublisher:
        """Run control's events: PutEvents to the default bus."""
        return EventBridgePublisher(self.client("events"))

    def deliveries(self) -> Deliveries:
        return self._approvals_store

    def notifier(self) -> Notifier:
        return SnsNotifier(self.client("sns"), self.settings.notification_topic)

    @cached_property
    def link_signer(self) -> LinkSigner:
        return LinkSigner(self.secret_store.get(self.settings.link_key_secret).encode())

    def api_token(self) -> str:
        """The bearer token of the JSON API (stepline approve/reject)."""
        return self.secret_store.get(self.settings.api_token_secret)

    @cached_property
    def _jobs_store(self) -> DynamoJobs:
        return DynamoJobs(self.client("dynamodb"), require(self.settings.jobs_table, "JOBS_TABLE"))

    def jobs(self) -> Jobs:
        return self._jobs_store

    def action_types(self) -> ActionTypes:
        return self._jobs_store

    def artifact_credentials(self) -> ArtifactCredentials:
        """A job worker's: the job artifacts role, narrowed per job by a session policy."""
        role = require(self.settings.job_artifacts_role_arn, "JOB_ARTIFACTS_ROLE_ARN")
        return StsArtifactCredentials(self.client("sts"), role)
