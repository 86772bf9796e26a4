"""The small interfaces actions are written against; adapters/aws and adapters/local implement them.

An artifact reference is what travels in the execution state — never the artifact itself:
``{"type": "S3" | "Local", "location": "s3://bucket/key" | "file:///path/to/name.zip"}``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from stepline.archives import DEFAULT_LIMITS, Limits, pack_directory, unpack

if TYPE_CHECKING:
    from stepline.actions.approval import Approval
    from stepline.actions.completions import Completion, Waiter
    from stepline.definition.models import PipelineDeclaration
    from stepline.registry import RegisteredPipeline
    from stepline.triggers.github import GitHubPush

ArtifactRef = Mapping[str, str]


class ArtifactNotFound(LookupError):
    """The reference points at nothing the store holds."""


class ArtifactUnreadable(LookupError):
    """The store refused to hand the artifact over (access denied): a configuration problem."""


class ArtifactStore(Protocol):
    def put(self, pipeline: str, execution: str, name: str, archive: Path) -> dict[str, str]:
        """Store a zip as the artifact ``name`` of an execution; return its reference."""
        ...

    def get(self, reference: ArtifactRef, destination: Path) -> None:
        """Write the referenced zip to ``destination`` (streamed, never held in memory)."""
        ...


class SecretStore(Protocol):
    def get(self, name: str) -> str:
        """The secret's value; LookupError naming it when there is none."""
        ...


class Waiters(Protocol):
    """Tasks waiting for outside work (a build, a deployment, an execution), each answered once
    (stepline.actions.completions says how). ``key`` is the action's own; ``ref`` names the work
    (``build#<id>``, ``ecs#<deployment>``, ``sfn#<execution ARN>``)."""

    def register(self, waiter: Waiter, now: float) -> Waiter:
        """Store the waiter before its work starts, or give a stored one the new token (WAITING
        again, its work and outcome kept); return it as stored."""
        ...

    def attach(self, key: str, ref: str, work: Mapping[str, str]) -> Completion | None:
        """Link the started work to the waiter; an early completion kept under ``ref`` is returned."""
        ...

    def find(self, ref: str) -> Waiter | None:
        """The waiter linked to the work, if any."""
        ...

    def get(self, key: str) -> Waiter | None: ...

    def keep_early(self, ref: str, completion: Completion) -> bool:
        """Keep a completion nobody waits for yet; False when ``ref`` is already linked or kept."""
        ...

    def answered(self, key: str, token: str, completion: Completion) -> bool:
        """WAITING → ANSWERED if the waiter still holds ``token``; False when it does not."""
        ...

    def stale(self, registered_before: float) -> list[Waiter]:
        """Waiters still WAITING that were registered before the given time."""
        ...


class TaskCallbacks(Protocol):
    """Completing a waiting task: Step Functions on AWS, the embedded engine locally."""

    def succeed(self, token: str, output: Mapping[str, object]) -> None: ...

    def fail(self, token: str, error: str, cause: str) -> None: ...


class BuildService(Protocol):
    def start(self, parameters: Mapping[str, object]) -> str:
        """Start a build (CodeBuild's StartBuild parameters); return the build id."""
        ...

    def exported_variables(self, build_id: str) -> dict[str, str]: ...

    def describe(self, build_ids: list[str]) -> list[dict[str, object]]:
        """The builds as BatchGetBuilds describes them (unknown ids left out)."""
        ...


class Records(Protocol):
    """Small records by key, so a retried action finds what its first attempt already did."""

    def get(self, key: str) -> dict[str, object] | None: ...

    def put(self, key: str, record: Mapping[str, object]) -> None: ...


class Approvals(Protocol):
    """Approvals and the task tokens they answer; a decision is written once, from Pending."""

    def put(self, approval: Approval, token: str) -> None:
        """Store (or, for a retried request, replace) a pending approval."""
        ...

    def get(self, approval_id: str) -> tuple[Approval, str] | None: ...

    def settle(self, decided: Approval) -> bool:
        """Write the decision if the approval is still Pending; False when it no longer is."""
        ...

    def mark_answered(self, answered: Approval) -> None:
        """Record that the decision's answer reached the waiting task."""
        ...

    def unanswered(self) -> list[tuple[Approval, str]]:
        """Decisions recorded whose answer never reached the task, with their tokens."""
        ...

    def pending(self) -> list[Approval]: ...


class Notifier(Protocol):
    def publish(self, target: str, subject: str, message: Mapping[str, object]) -> None:
        """Tell people: ``target`` is the action's NotificationArn (empty: the default channel)."""
        ...


class Deliveries(Protocol):
    """Webhook delivery ids already taken, so GitHub's redeliveries start nothing twice."""

    def first_time(self, delivery: str) -> bool: ...

    def forget(self, delivery: str) -> None:
        """Undo first_time when handling failed, so a redelivery is tried again."""
        ...


class Pushes(Protocol):
    """Where verified pushes go: the trigger logic decides which pipelines they start."""

    def received(self, push: GitHubPush) -> list[str]:
        """The executions started (empty when no pipeline watches that branch)."""
        ...


class Registry(Protocol):
    """The pipelines a runtime knows: DynamoDB on AWS, SQLite on one machine."""

    def put(self, entry: RegisteredPipeline) -> None:
        """Register the pipeline, or replace its entry."""
        ...

    def get(self, name: str) -> RegisteredPipeline | None: ...

    def all(self) -> list[RegisteredPipeline]: ...


class PipelineHost(Protocol):
    """What registers pipelines on a running server: `stepline serve`'s engine (on AWS,
    `stepline deploy` does this from the user's machine instead)."""

    def apply(self, pipeline: PipelineDeclaration) -> RegisteredPipeline: ...


class ChangedPaths(Protocol):
    """The files a push changed, asked of the repository when the event does not list them."""

    def between(self, repository: str, old_commit: str, new_commit: str) -> set[str]:
        """Paths added, modified or removed from ``old_commit`` to ``new_commit`` (every file in
        ``new_commit`` when ``old_commit`` is empty: a new branch or tag)."""
        ...


class ContainerService(Protocol):
    def current_task_definition(self, cluster: str, service: str) -> dict[str, object]:
        """The task definition the service runs now, with its tags."""
        ...

    def register(self, definition: Mapping[str, object]) -> str:
        """Register a task definition revision; return its ARN."""
        ...

    def update(self, cluster: str, service: str, task_definition_arn: str) -> str:
        """Point the service at a revision; return the deployment id that rolls it out."""
        ...

    def deployments(self, cluster: str, service: str) -> list[dict[str, object]]:
        """The service's deployments as DescribeServices gives them (none when it is gone)."""
        ...


class FunctionInvoker(Protocol):
    def invoke(self, function: str, payload: Mapping[str, object]) -> object:
        """Call a function and return its result; a function error raises InvokedFunctionError."""
        ...


class LambdaFunctions(Protocol):
    """What a Lambda deployment does to a function and its alias."""

    def update_code(self, function: str, artifact: ArtifactRef) -> None:
        """Start updating the function's code (wait_updated waits for it to finish)."""
        ...

    def update_image(self, function: str, image_uri: str) -> None: ...

    def wait_updated(self, function: str) -> None:
        """Return once the update finished; TransientActionError when it is still running after
        a while (the state machine's retry waits again), ConfigurationError when it failed."""
        ...

    def publish(self, function: str, description: str) -> str: ...

    def alias_version(self, function: str, alias: str) -> str: ...

    def route(self, function: str, alias: str, stable: str, canary: str, weight: float) -> None:
        """Serve ``weight`` (0–1) of the alias's traffic from ``canary``, the rest from ``stable``."""
        ...

    def promote(self, function: str, alias: str, version: str) -> None:
        """All of the alias's traffic to ``version``."""
        ...

    def alarming(self, alarms: list[str]) -> list[str]:
        """Which of these CloudWatch alarms are in ALARM."""
        ...


@dataclass(frozen=True)
class Target:
    """A resource a pipeline acts on, as `stepline deploy` finds it before creating anything."""

    arn: str
    role: str | None = None  # the role it runs under (a build project's, a function's)
    tags: Mapping[str, str] = field(default_factory=dict)


class TargetCheckUnavailable(Exception):
    """A target could not be read (access denied, throttled): the check is skipped, with a warning."""


class Targets(Protocol):
    """What `stepline deploy` reads about the resources a pipeline names (None: it does not exist)."""

    def build_project(self, name: str) -> Target | None: ...

    def function(self, name: str) -> Target | None: ...

    def state_machine(self, arn: str) -> Target | None: ...

    def service(self, cluster: str, service: str) -> Target | None: ...

    def repository(self, name: str) -> Target | None: ...

    def denied(self, role_arn: str, actions: list[str], resource_arn: str) -> list[str]:
        """Which of the actions IAM's policy simulation denies the role on the resource."""
        ...


class ExecutionNotFound(LookupError):
    """No execution of that ARN: the engine and Step Functions both report it as this."""


class Workflows(Protocol):
    def start(self, state_machine_arn: str, name: str, payload: str) -> str:
        """Start (or find, for the same name and input) an execution; return its ARN."""
        ...

    def describe(self, execution_arn: str) -> dict[str, object]:
        """DescribeExecution's answer; ExecutionNotFound when there is none."""
        ...

    def executions(self, state_machine_arn: str, limit: int = 50) -> list[dict[str, object]]:
        """The newest executions first, as ListExecutions gives them."""
        ...

    def history(self, execution_arn: str) -> list[dict[str, object]]:
        """Every history event, oldest first, as GetExecutionHistory gives them."""
        ...

    def start_new(self, state_machine_arn: str, name: str, payload: str) -> str | None:
        """Start an execution unless one of that name exists already (then None): a trigger
        names executions after the event, so a redelivered event starts nothing."""
        ...


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives execution ``name`` of a state machine."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def put_directory(
    store: ArtifactStore, pipeline: str, execution: str, name: str, directory: Path, files: Iterable[Path] | None = None
) -> dict[str, str]:
    """Zip a directory (or the chosen files in it) and store it as an artifact."""
    with tempfile.TemporaryDirectory(prefix="stepline-pack-") as scratch:
        archive = Path(scratch) / f"{name}.zip"
        pack_directory(directory, archive, files)
        return store.put(pipeline, execution, name, archive)


def get_into(store: ArtifactStore, reference: ArtifactRef, target: Path, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """Fetch an artifact and unpack it safely into ``target``."""
    with tempfile.TemporaryDirectory(prefix="stepline-fetch-") as scratch:
        archive = Path(scratch) / "artifact.zip"
        store.get(reference, archive)
        return unpack(archive, target, limits)
