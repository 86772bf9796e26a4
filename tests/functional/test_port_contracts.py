"""Each port's contract, one suite run against both of its adapters: the AWS one (under moto,
through the shared tests/moto_env.py) and the local one. Waiters have theirs in test_waiters.py.

What a suite asserts is what the port's docstrings promise (stepline/ports/), so an adapter
that drifts from its sibling fails here, not in a pipeline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from stepline.adapters.aws.approvals import DynamoApprovals
from stepline.adapters.aws.artifacts import S3ArtifactStore
from stepline.adapters.aws.jobs import DynamoJobs
from stepline.adapters.aws.locks import DynamoLocks
from stepline.adapters.aws.registry import DynamoRegistry
from stepline.adapters.aws.secrets import SecretsManagerSecretStore
from stepline.adapters.aws.tokens import DynamoRecords
from stepline.adapters.aws.workflows import StepFunctionsWorkflows
from stepline.adapters.local.approvals import SqliteApprovals
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.adapters.local.jobs import SqliteJobs
from stepline.adapters.local.locks import SqliteLocks
from stepline.adapters.local.records import FileRecords
from stepline.adapters.local.registry import SqliteRegistry
from stepline.adapters.local.secrets import EnvironmentSecretStore
from stepline.adapters.local.workflows import EngineWorkflows
from stepline.engine import Engine, Store
from stepline.ports.approvals import Approval, Approvals, Deliveries
from stepline.ports.artifacts import ArtifactNotFound, ArtifactStore, get_into, put_directory
from stepline.ports.control import LockRecord, LockStore
from stepline.ports.jobs import ActionTypes, Job, Jobs
from stepline.ports.pipelines import RegisteredPipeline, Registry
from stepline.ports.records import Records
from stepline.ports.secrets import SecretStore
from stepline.ports.workflows import ExecutionNameTaken, ExecutionNotFound, Workflows, execution_arn, start_new
from tests.helpers import pipeline
from tests.moto_env import REGION, create_table, moto_aws

pytestmark = pytest.mark.functional

SIDES = ["aws", "local"]


@pytest.fixture(params=SIDES)
def side(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Which adapter a suite runs against; AWS's run inside moto."""
    if request.param == "local":
        yield "local"
        return
    with moto_aws(monkeypatch):
        yield "aws"


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def served(side: str, local: Callable[[], Any], aws: Callable[[], Any]) -> Iterator[Any]:
    """The side's adapter for a fixture to yield; a local one holding a database is closed after."""
    adapter = local() if side == "local" else aws()
    yield adapter
    if hasattr(adapter, "close"):
        adapter.close()


# ----------------------------------------------------------------------------- artifacts


@pytest.fixture
def artifacts(side: str, tmp_path: Path) -> ArtifactStore:
    if side == "local":
        return LocalArtifactStore(tmp_path / "artifacts")
    client("s3").create_bucket(Bucket="stepline-artifacts")
    return S3ArtifactStore(client("s3"), "stepline-artifacts")


def test_an_artifact_stored_comes_back_byte_for_byte(artifacts: ArtifactStore, tmp_path: Path) -> None:
    # Given a folder packed and stored as an execution's artifact
    folder = tmp_path / "src"
    (folder / "lib").mkdir(parents=True)
    (folder / "app.py").write_text("print('hi')\n")
    (folder / "lib" / "util.py").write_bytes(bytes(range(256)))
    reference = put_directory(artifacts, "FriendReminders", "exec-1", "SourceArtifact", folder)
    # Then its reference names where it is, and never holds the artifact itself
    assert set(reference) == {"type", "location"}
    assert reference["location"].endswith("FriendReminders/exec-1/SourceArtifact.zip")
    # When it is fetched and unpacked, Then every file is as it was
    assert sorted(get_into(artifacts, reference, tmp_path / "out")) == ["app.py", "lib/util.py"]
    assert (tmp_path / "out" / "lib" / "util.py").read_bytes() == bytes(range(256))


def test_an_artifact_stored_again_replaces_the_first(artifacts: ArtifactStore, tmp_path: Path) -> None:
    # Given an artifact stored twice under the same name (a retried action)
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, text in ((first, "one"), (second, "two")):
        folder.mkdir()
        (folder / "version.txt").write_text(text)
    put_directory(artifacts, "p", "e", "Out", first)
    reference = put_directory(artifacts, "p", "e", "Out", second)
    # Then the store hands back the second
    get_into(artifacts, reference, tmp_path / "out")
    assert (tmp_path / "out" / "version.txt").read_text() == "two"


def test_an_artifact_that_is_not_there_is_not_found(artifacts: ArtifactStore, tmp_path: Path) -> None:
    # Given a reference, in the store's own form, to an artifact nobody stored
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    stored = put_directory(artifacts, "p", "e", "Out", folder)
    missing = {**stored, "location": stored["location"].replace("/Out.zip", "/Missing.zip")}
    # Then fetching it is ArtifactNotFound, and nothing is written
    with pytest.raises(ArtifactNotFound):
        artifacts.get(missing, tmp_path / "fetched.zip")
    assert not (tmp_path / "fetched.zip").exists()


# ------------------------------------------------------------------------------- secrets


@pytest.fixture
def secrets(side: str, monkeypatch: pytest.MonkeyPatch) -> tuple[SecretStore, Callable[[str, str], None]]:
    """The store, and how the operator puts a secret into it."""
    if side == "local":

        def export(name: str, value: str) -> None:
            monkeypatch.setenv("STEPLINE_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper(), value)

        return EnvironmentSecretStore(), export
    manager = client("secretsmanager")
    return SecretsManagerSecretStore(manager), lambda name, value: manager.create_secret(Name=name, SecretString=value)


def test_a_secret_is_read_by_its_name(secrets: tuple[SecretStore, Callable[[str, str], None]]) -> None:
    store, put = secrets
    # Given a secret the operator stored
    put("stepline/github-token", "ghp_example")
    # Then it is read whole by its name
    assert store.get("stepline/github-token") == "ghp_example"


def test_a_missing_secret_is_a_lookup_error_naming_it(secrets: tuple[SecretStore, Callable[[str, str], None]]) -> None:
    store, _ = secrets
    # When a secret nobody stored is asked for, Then the error names it
    with pytest.raises(LookupError, match="stepline/absent"):
        store.get("stepline/absent")


# ------------------------------------------------------------------------------- records


@pytest.fixture
def records(side: str, tmp_path: Path) -> Records:
    if side == "local":
        return FileRecords(tmp_path / "records")
    return DynamoRecords(client("dynamodb"), create_table(client("dynamodb"), "TaskTokensTable", "tokens"))


def test_a_record_is_found_by_its_key_and_replaced_whole(records: Records) -> None:
    # Given nothing recorded, Then a key finds nothing
    assert records.get("lambda#deploy-1") is None
    # When a record is put, Then it is found as put, JSON values and all
    records.put("lambda#deploy-1", {"version": "7", "weights": {"canary": 0.1}, "steps": [1, 2]})
    assert records.get("lambda#deploy-1") == {"version": "7", "weights": {"canary": 0.1}, "steps": [1, 2]}
    # When it is put again, Then the second replaces the first, and other keys are untouched
    records.put("lambda#deploy-1", {"version": "8"})
    assert records.get("lambda#deploy-1") == {"version": "8"}
    assert records.get("lambda#deploy-2") is None


# ----------------------------------------------------------------------------- approvals


@pytest.fixture
def approvals(side: str, tmp_path: Path) -> Iterator[Approvals]:
    yield from served(
        side,
        lambda: SqliteApprovals(tmp_path / "approvals.sqlite"),
        lambda: DynamoApprovals(client("dynamodb"), create_table(client("dynamodb"), "ApprovalsTable", "approvals")),
    )


def pending(approval_id: str = "a1") -> Approval:
    return Approval(
        id=approval_id,
        pipeline="FriendReminders",
        execution_id="arn:aws:states:us-east-1:111122223333:execution:stepline-FriendReminders:e1",
        execution_name="e1",
        stage="Approve",
        action="Review",
        requested_at=1_000.0,
        expires_at=2_000.0,
    )


def test_a_decision_is_written_once_from_pending(approvals: Approvals) -> None:
    # Given a pending approval with its token
    approvals.put(pending(), "token-1")
    assert approvals.get("a1") == (pending(), "token-1")
    assert [a.id for a in approvals.pending()] == ["a1"]
    # When it is approved (recorded before its answer reaches the task)
    decided = pending().model_copy(update={"status": "Approved", "decided_by": "ana", "answered": False})
    assert approvals.settle(decided) is True
    # Then a second decision is refused, and the first is what is stored
    assert approvals.settle(pending().model_copy(update={"status": "Rejected", "answered": False})) is False
    stored = approvals.get("a1")
    assert stored is not None
    assert (stored[0].status, stored[0].decided_by) == ("Approved", "ana")
    assert approvals.pending() == []
    # And it is unanswered until its answer is marked
    assert [(a.id, token) for a, token in approvals.unanswered()] == [("a1", "token-1")]
    approvals.mark_answered(decided.model_copy(update={"answered": True}))
    assert approvals.unanswered() == []


def test_an_approval_requested_again_replaces_its_token(approvals: Approvals) -> None:
    # Given a pending approval whose request task is retried with a new token
    approvals.put(pending(), "token-1")
    approvals.put(pending(), "token-2")
    # Then the one approval holds the new token
    assert approvals.get("a1") == (pending(), "token-2")
    assert approvals.get("nobody") is None


def test_a_delivery_is_taken_once_until_forgotten(approvals: Approvals) -> None:
    deliveries: Deliveries = approvals  # type: ignore[assignment] # both adapters serve both ports
    # Given a webhook delivery id seen for the first time, Then it is taken, and not again
    assert deliveries.first_time("delivery-1") is True
    assert deliveries.first_time("delivery-1") is False
    # When handling it failed and it is forgotten, Then the redelivery is taken
    deliveries.forget("delivery-1")
    assert deliveries.first_time("delivery-1") is True


# ------------------------------------------------------------------------------ registry


@pytest.fixture
def registry(side: str, tmp_path: Path) -> Iterator[Registry]:
    yield from served(
        side,
        lambda: SqliteRegistry(tmp_path / "pipelines.sqlite"),
        lambda: DynamoRegistry(client("dynamodb"), create_table(client("dynamodb"), "PipelinesTable", "pipelines")),
    )


def entry(name: str, registered_at: float, machine: str = "one") -> RegisteredPipeline:
    declaration = pipeline(name=name)
    return RegisteredPipeline(
        name=name,
        state_machine_arn=f"arn:aws:states:us-east-1:111122223333:stateMachine:stepline-{machine}",
        declaration=declaration,
        registered_at=registered_at,
    )


def test_a_pipeline_registered_is_found_and_replaced_by_name(registry: Registry) -> None:
    # Given nothing registered
    assert registry.get("FriendReminders") is None
    assert registry.all() == []
    # When two pipelines are registered, and one again with a new state machine
    registry.put(entry("FriendReminders", 1.0))
    registry.put(entry("Billing", 2.0))
    registry.put(entry("FriendReminders", 3.0, machine="two"))
    # Then each is found by its name as last registered, its declaration intact
    found = registry.get("FriendReminders")
    assert found is not None
    assert (found.state_machine_arn.rsplit(":", 1)[1], found.registered_at) == ("stepline-two", 3.0)
    assert found.declaration == pipeline(name="FriendReminders")
    assert sorted(e.name for e in registry.all()) == ["Billing", "FriendReminders"]
    # When one is deleted, twice (the second finds nothing, and says nothing)
    registry.delete("Billing")
    registry.delete("Billing")
    # Then only the other is left
    assert registry.get("Billing") is None
    assert [e.name for e in registry.all()] == ["FriendReminders"]


# ----------------------------------------------------------------------------- jobs


@pytest.fixture
def jobs(side: str, tmp_path: Path) -> Jobs:
    if side == "local":
        return SqliteJobs(tmp_path / "jobs.sqlite")
    return DynamoJobs(client("dynamodb"), create_table(client("dynamodb"), "JobsTable", "jobs"))


def job(number: int, policy: str = "strict") -> Job:
    return Job(
        id=f"00000000-0000-4000-8000-00000000000{number}",
        type_key="Test/Custom/LicenceScanner/1",
        pipeline="release",
        stage="Scan",
        action="Licences",
        execution_id="arn:aws:states:us-east-1:111122223333:execution:stepline-release:run",
        execution_name="run",
        configuration={"Policy": policy},
        output_artifacts=["Report"],
    )


def test_jobs_are_dispatched_once_acknowledged_by_nonce_and_finished_once(jobs: Jobs) -> None:
    # Given two queued jobs of one type (the first added twice: a repeated call), one of another policy
    nonces = iter(f"nonce-{n}" for n in range(10))
    jobs.add(job(1), "token-1")
    jobs.add(job(1), "token-other")
    jobs.add(job(2, "lenient"), "token-2")
    # When a worker asks for strict jobs of the type
    [first] = jobs.claim("Test/Custom/LicenceScanner/1", 5, 100.0, 40.0, lambda: next(nonces), strict)
    # Then it gets the first, dispatched with a nonce, its token the first one given
    assert (first.id, first.status, first.nonce) == (job(1).id, "Dispatched", "nonce-0")
    assert jobs.get(first.id) == (first, "token-1")
    # And nobody gets it again within the window; after it, with a new nonce
    assert jobs.claim("Test/Custom/LicenceScanner/1", 5, 110.0, 50.0, lambda: next(nonces), strict) == []
    [again] = jobs.claim("Test/Custom/LicenceScanner/1", 5, 200.0, 150.0, lambda: next(nonces), strict)
    assert again.nonce == "nonce-1"
    # When acknowledged with the old nonce, then the new one
    assert jobs.acknowledge(first.id, "nonce-0") is None
    acknowledged = jobs.acknowledge(first.id, "nonce-1")
    assert acknowledged is not None
    assert acknowledged.status == "InProgress"
    # And its output is recorded, and it is finished once
    jobs.record_output(first.id, "Report", {"type": "S3", "location": "s3://b/k"})
    assert jobs.finish(first.id, "Succeeded") is True
    assert jobs.finish(first.id, "Failed") is False
    found = jobs.get(first.id)
    assert found is not None
    assert (found[0].status, found[0].produced) == ("Succeeded", {"Report": {"type": "S3", "location": "s3://b/k"}})


def strict(candidate: Job) -> bool:
    return candidate.configuration.get("Policy") == "strict"


def test_custom_action_types_are_registered_once_and_deleted(jobs: Jobs) -> None:
    types: ActionTypes = jobs  # type: ignore[assignment]  # each adapter serves both ports (Jobs, ActionTypes)
    declared = {"id": {"category": "Test", "owner": "Custom", "provider": "X", "version": "1"}}
    assert types.put_type("Test/Custom/X/1", declared) is True
    assert types.put_type("Test/Custom/X/1", {}) is False
    assert types.types() == {"Test/Custom/X/1": declared}
    types.delete_type("Test/Custom/X/1")
    assert types.types() == {}


# ----------------------------------------------------------------------------- workflows

WAITING = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}


@pytest.fixture
def workflows(side: str, tmp_path: Path) -> Iterator[tuple[Workflows, str]]:
    """The port, and a state machine on it whose executions wait an hour (running throughout)."""
    if side == "local":
        engine = Engine(Store(str(tmp_path / "engine.sqlite")), workers=0)
        arn = engine.create_state_machine("waits", WAITING)["stateMachineArn"]
        yield EngineWorkflows(engine), str(arn)
        engine.close()
        return
    stepfunctions = client("stepfunctions")
    role = "arn:aws:iam::123456789012:role/stepline-execution"
    created = stepfunctions.create_state_machine(name="waits", definition=json.dumps(WAITING), roleArn=role)
    yield StepFunctionsWorkflows(stepfunctions), str(created["stateMachineArn"])


def test_an_execution_started_is_described_and_listed(workflows: tuple[Workflows, str]) -> None:
    port, machine = workflows
    # When an execution is started
    started = port.start(machine, "push-1", json.dumps({"trigger": {"type": "Webhook"}}))
    # Then its ARN is the one Step Functions gives that name, and it is described running
    assert started == execution_arn(machine, "push-1")
    described = port.describe(started)
    assert (described["name"], described["status"], described["stateMachineArn"]) == ("push-1", "RUNNING", machine)
    assert json.loads(str(described["input"])) == {"trigger": {"type": "Webhook"}}
    # And listed, newest first
    port.start(machine, "push-2", "{}")
    assert [e["name"] for e in port.executions(machine)] == ["push-2", "push-1"]


def test_a_trigger_starts_an_execution_name_once(workflows: tuple[Workflows, str]) -> None:
    port, machine = workflows
    # Given a trigger that names its execution after the event
    first = start_new(port, machine, "delivery-9", "{}")
    # When the event is delivered again, Then nothing more starts
    assert first == execution_arn(machine, "delivery-9")
    assert start_new(port, machine, "delivery-9", "{}") is None
    assert [e["name"] for e in port.executions(machine)] == ["delivery-9"]


class _LookedTooEarly:
    """The port as a delivery saw it that looked just before another delivery started the execution."""

    def __init__(self, port: Workflows) -> None:
        self.port = port

    def describe(self, execution_arn: str) -> dict[str, object]:
        raise ExecutionNotFound(execution_arn)

    def start(self, state_machine_arn: str, name: str, payload: str) -> str:
        return self.port.start(state_machine_arn, name, payload)

    def executions(self, state_machine_arn: str, limit: int = 50) -> list[dict[str, object]]:
        return self.port.executions(state_machine_arn, limit)

    def history(self, execution_arn: str) -> list[dict[str, object]]:
        return self.port.history(execution_arn)


def test_a_trigger_that_lost_a_race_starts_nothing(workflows: tuple[Workflows, str]) -> None:
    port, machine = workflows
    # Given an execution another delivery started just after this one found the name free
    port.start(machine, "delivery-10", '{"a": 1}')
    # When this one starts it too (its input differs: a later retry's payload)
    started = start_new(_LookedTooEarly(port), machine, "delivery-10", '{"a": 2}')
    # Then the name taken means nothing more starts, and no error
    assert started is None
    assert [e["name"] for e in port.executions(machine)] == ["delivery-10"]


def test_an_unknown_execution_or_a_reused_name_is_refused(workflows: tuple[Workflows, str]) -> None:
    port, machine = workflows
    # When an execution nobody started is described, Then it is ExecutionNotFound
    with pytest.raises(ExecutionNotFound):
        port.describe(execution_arn(machine, "never"))
    # When a name is started again with another input, Then the port refuses, naming it
    port.start(machine, "once", '{"a": 1}')
    with pytest.raises(ExecutionNameTaken, match=r"\bonce\b"):
        port.start(machine, "once", '{"a": 2}')


def test_a_stopped_execution_is_aborted_with_its_error_and_cause(workflows: tuple[Workflows, str]) -> None:
    port, machine = workflows
    # Given a running execution, When it is stopped (run control's abandon)
    started = port.start(machine, "push-stop", "{}")
    port.stop(started, "Stopped", "wrong commit")
    # Then it is ABORTED
    assert port.describe(started)["status"] == "ABORTED"


# ----------------------------------------------------------------------------- lock records


@pytest.fixture
def locks(side: str, tmp_path: Path) -> LockStore:
    if side == "local":
        return SqliteLocks(tmp_path / "locks.sqlite")
    return DynamoLocks(client("dynamodb"), create_table(client("dynamodb"), "TaskTokensTable", "tokens"))


def test_a_lock_record_is_written_only_over_the_version_read(locks: LockStore) -> None:
    # Given no record yet: an empty one at version 0
    record, version = locks.read("release")
    assert (record, version) == (LockRecord(pipeline="release"), 0)
    # When two writers decide from that same read
    first = record.model_copy(update={"stopping": {"e1": "first"}})
    second = record.model_copy(update={"stopping": {"e2": "second"}})
    # Then the first write wins and the second is refused, so it reads again and decides again
    assert locks.write(first, version) is True
    assert locks.write(second, version) is False
    assert locks.read("release") == (first, 1)
    assert locks.write(second, 1) is True
    assert locks.read("release") == (second, 2)
    # And other pipelines' records are their own
    assert locks.read("other") == (LockRecord(pipeline="other"), 0)
