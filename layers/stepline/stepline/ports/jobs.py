"""Custom action types, their jobs, and what a job's worker reaches its artifacts with
(``stepline.actions.jobs`` says how jobs move; the CodePipeline API's job operations use them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

JobStatus = Literal["Queued", "Dispatched", "InProgress", "Succeeded", "Failed"]


class Job(BaseModel):
    """One job of a custom action type, everything a worker is told about it (no task token)."""

    model_config = ConfigDict(frozen=True)

    id: str
    type_key: str  # Category/Custom/Provider/Version
    pipeline: str
    stage: str
    action: str
    execution_id: str
    execution_name: str
    configuration: dict[str, str] = Field(default_factory=dict)
    input_artifacts: dict[str, dict[str, str]] = Field(default_factory=dict)  # name → reference
    output_artifacts: list[str] = Field(default_factory=list)
    produced: dict[str, dict[str, str]] = Field(default_factory=dict)  # outputs the worker uploaded
    continuation_token: str = ""
    status: JobStatus = "Queued"
    nonce: str = ""
    dispatched_at: float | None = None


class Jobs(Protocol):
    """Jobs of custom action types and the task tokens they answer."""

    def add(self, job: Job, token: str) -> None:
        """Store a job, Queued; a job of that id already stored is kept as it is."""
        ...

    def get(self, job_id: str) -> tuple[Job, str] | None: ...

    def claim(
        self,
        type_key: str,
        limit: int,
        now: float,
        unacknowledged_before: float,
        nonce: Callable[[], str],
        matches: Callable[[Job], bool],
    ) -> list[Job]:
        """Dispatch up to ``limit`` jobs of the type that ``matches`` accepts, each with a new
        nonce: Queued ones, and Dispatched ones not acknowledged since before
        ``unacknowledged_before``; oldest first."""
        ...

    def acknowledge(self, job_id: str, nonce: str) -> Job | None:
        """Dispatched (or InProgress) → InProgress if the nonce is the job's; None otherwise."""
        ...

    def record_output(self, job_id: str, name: str, reference: Mapping[str, str]) -> None:
        """Keep the reference of an output artifact the job's worker uploaded."""
        ...

    def finish(self, job_id: str, status: JobStatus) -> bool:
        """An open job → ``status``; False when it was already finished."""
        ...


class ActionTypes(Protocol):
    """Custom action types (CreateCustomActionType's declarations, by Category/Custom/Provider/Version)."""

    def put_type(self, key: str, declaration: Mapping[str, object]) -> bool:
        """Register the type; False when one of that key exists already."""
        ...

    def delete_type(self, key: str) -> None: ...

    def types(self) -> dict[str, dict[str, object]]: ...


@dataclass(frozen=True)
class ArtifactObject:
    """An artifact as a job worker reaches it: an S3 bucket and key."""

    bucket: str
    key: str


class ArtifactCredentials(Protocol):
    """Credentials a job's worker uses to read its inputs and write its outputs, and nothing else."""

    def for_job(self, job_id: str, reads: list[ArtifactObject], writes: list[ArtifactObject]) -> dict[str, str]:
        """AWSSessionCredentials (accessKeyId, secretAccessKey, sessionToken) for these objects."""
        ...
