"""Custom action types and job workers: a worker written only against boto3's ``codepipeline``
and ``s3`` clients, as one written for AWS is, runs a custom action of a pipeline on Stepline's
engine to success, to failure and through a continuation; a job nobody acknowledges is offered
again. The clients reach the API through the local server's WSGI application (no socket)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from stepline import wiring
from stepline.local.runtime import LocalRuntime
from stepline.ports.workflows import execution_arn
from tests.codepipeline_client import ENDPOINT, InProcess, assert_last_shapes, client
from tests.gitrepo import Repo
from tests.helpers import action, pipeline

TYPE = {"category": "Test", "owner": "Custom", "provider": "LicenceScanner", "version": "1"}
ROLE = "arn:aws:iam::111122223333:role/release"


class Worker:
    """A job worker as one is written for CodePipeline: poll, acknowledge, fetch inputs from S3
    with the job's credentials, put outputs, report."""

    def __init__(self, codepipeline: Any) -> None:
        self.codepipeline = codepipeline

    def poll(self) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = self.codepipeline.poll_for_jobs(actionTypeId=TYPE, maxBatchSize=5)["jobs"]
        return jobs

    def s3(self, job: dict[str, Any]) -> Any:
        credentials = job["data"]["artifactCredentials"]
        made = boto3.client(
            "s3",
            region_name="us-east-1",
            endpoint_url=ENDPOINT,
            aws_access_key_id=credentials["accessKeyId"],
            aws_secret_access_key=credentials["secretAccessKey"],
            aws_session_token=credentials["sessionToken"] or None,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )
        made.meta.events.register("before-send.s3", InProcess())
        return made

    def scan(self, job: dict[str, Any]) -> int:
        """Read the input artifact, write a report as the output artifact; how many files it had."""
        s3 = self.s3(job)
        source = job["data"]["inputArtifacts"][0]["location"]["s3Location"]
        archive = s3.get_object(Bucket=source["bucketName"], Key=source["objectKey"])["Body"].read()
        names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
        report = io.BytesIO()
        with zipfile.ZipFile(report, "w") as written:
            written.writestr("report.txt", "\n".join(sorted(names)))
        target = job["data"]["outputArtifacts"][0]["location"]["s3Location"]
        s3.put_object(Bucket=target["bucketName"], Key=target["objectKey"], Body=report.getvalue())
        return len(names)


class Stack:
    def __init__(self, tmp_path: Path) -> None:
        self.runtime = LocalRuntime(tmp_path / ".stepline", workers=0)
        wiring.install_local_host(self.runtime)
        self.api = client(wiring.api_token())
        self.worker = Worker(self.api)
        self.repo = Repo(tmp_path / "app")
        self.repo.commit("first", {"LICENSE": "MIT\n", "app.py": "print('hi')\n"})

    def register_type(self) -> None:
        self.api.create_custom_action_type(
            category="Test",
            provider="LicenceScanner",
            version="1",
            configurationProperties=[{"name": "Policy", "required": True, "key": True, "secret": False}],
            inputArtifactDetails={"minimumCount": 1, "maximumCount": 1},
            outputArtifactDetails={"minimumCount": 1, "maximumCount": 1},
        )

    def declaration(self, configuration: dict[str, str] | None = None) -> dict[str, Any]:
        source = action(
            "Checkout",
            "Source",
            "Git",
            "Custom",
            configuration={"RepositoryUrl": str(self.repo.path), "BranchName": "main"},
            outputs=["Src"],
        )
        scan = action(
            "Licences",
            "Test",
            "LicenceScanner",
            "Custom",
            configuration=configuration if configuration is not None else {"Policy": "strict"},
            inputs=["Src"],
            outputs=["Report"],
            namespace="Scan",
        )
        return pipeline(("Source", [source]), ("Scan", [scan]), name="scanned", roleArn=ROLE)

    def start(self) -> str:
        started: str = self.api.start_pipeline_execution(name="scanned")["pipelineExecutionId"]
        self.run(started)
        return started

    def run(self, execution_id: str) -> dict[str, Any]:
        entry = wiring.registry().get("scanned")
        assert entry is not None
        arn = execution_arn(entry.state_machine_arn, execution_id)
        described: dict[str, Any] = self.runtime.engine.run_until_done(arn, skip_waits=True, timeout=60)
        return described


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.chdir(tmp_path)
    made = Stack(tmp_path)
    yield made
    assert_last_shapes(made.api)
    made.runtime.close()


def test_a_pipeline_names_only_registered_custom_types_with_their_configuration(stack: Stack) -> None:
    # Given no custom type registered yet
    # When a pipeline uses one
    with pytest.raises(stack.api.exceptions.InvalidActionDeclarationException) as unregistered:
        stack.api.create_pipeline(pipeline=stack.declaration())
    # Then it is refused naming the type and where it is used
    assert "Test/Custom/LicenceScanner" in str(unregistered.value)
    assert "action 'Licences' of stage 'Scan'" in str(unregistered.value)
    # When the type is registered and the pipeline leaves out its required key
    stack.register_type()
    with pytest.raises(stack.api.exceptions.InvalidActionDeclarationException) as missing:
        stack.api.create_pipeline(pipeline=stack.declaration({"Polcy": "strict"}))
    # Then the key is named, and the unknown one too
    assert "configuration key 'Policy' is required" in str(missing.value)
    assert "configuration key 'Polcy' is not one of the type's" in str(missing.value)
    assert wiring.registry().all() == []
    # And the type is listed beside Stepline's own
    types = stack.api.list_action_types()["actionTypes"]
    ids = [t["id"] for t in types]
    assert TYPE in ids
    assert {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"} in ids
    assert [t["id"] for t in stack.api.list_action_types(actionOwnerFilter="Custom")["actionTypes"]] == [
        {"category": "Source", "owner": "Custom", "provider": "Git", "version": "1"},
        TYPE,
    ]


def test_a_worker_runs_its_job_to_success_with_artifacts_and_output_variables(stack: Stack) -> None:
    stack.register_type()
    stack.api.create_pipeline(pipeline=stack.declaration())
    # Given an execution waiting on its custom action
    started = stack.start()
    # When the worker polls, acknowledges, reads the source, writes a report and reports success
    [job] = stack.worker.poll()
    assert job["data"]["actionConfiguration"]["configuration"] == {"Policy": "strict"}
    assert job["data"]["pipelineContext"]["pipelineExecutionId"] == started
    assert stack.api.acknowledge_job(jobId=job["id"], nonce=job["nonce"])["status"] == "InProgress"
    files = stack.worker.scan(job)
    stack.api.put_job_success_result(
        jobId=job["id"],
        currentRevision={"revision": "r1", "changeIdentifier": "c1"},
        executionDetails={"summary": f"{files} files scanned", "percentComplete": 100},
        outputVariables={"FilesScanned": str(files)},
    )
    # Then the execution succeeds, with the worker's variables and artifact as the action's outputs
    assert stack.run(started)["status"] == "SUCCEEDED"
    details = stack.api.list_action_executions(pipelineName="scanned", filter={"pipelineExecutionId": started})
    scan = next(d for d in details["actionExecutionDetails"] if d["actionName"] == "Licences")
    assert scan["output"]["outputVariables"] == {"FilesScanned": "2"}
    assert scan["output"]["outputArtifacts"] == [{"name": "Report"}]
    # And the job is done: reporting again is refused, and nothing more is offered
    with pytest.raises(stack.api.exceptions.InvalidJobStateException):
        stack.api.put_job_success_result(jobId=job["id"])
    assert stack.worker.poll() == []


def test_a_worker_failure_fails_the_action_with_its_message(stack: Stack) -> None:
    stack.register_type()
    stack.api.create_pipeline(pipeline=stack.declaration())
    started = stack.start()
    [job] = stack.worker.poll()
    stack.api.acknowledge_job(jobId=job["id"], nonce=job["nonce"])
    # When the worker reports a failure
    stack.api.put_job_failure_result(
        jobId=job["id"], failureDetails={"type": "JobFailed", "message": "GPL-3.0 found in vendor/"}
    )
    # Then the execution fails at that action, with the worker's words
    assert stack.run(started)["status"] == "FAILED"
    execution = stack.api.get_pipeline_execution(pipelineName="scanned", pipelineExecutionId=started)
    assert execution["pipelineExecution"]["status"] == "Failed"
    assert "GPL-3.0 found in vendor/" in execution["pipelineExecution"]["statusSummary"]
    state = stack.api.get_pipeline_state(name="scanned")
    scan = state["stageStates"][1]["actionStates"][0]["latestExecution"]
    assert scan["status"] == "Failed"
    assert scan["errorDetails"]["code"] == "JobFailed"


def test_a_continuation_queues_the_job_again_until_the_worker_is_done(stack: Stack) -> None:
    stack.register_type()
    stack.api.create_pipeline(pipeline=stack.declaration())
    started = stack.start()
    [first] = stack.worker.poll()
    stack.api.acknowledge_job(jobId=first["id"], nonce=first["nonce"])
    # When the worker reports progress with a continuation token
    stack.api.put_job_success_result(jobId=first["id"], continuationToken="page-2")
    # Then the action is still running, and a new job carries the token
    assert stack.run(started)["status"] == "RUNNING"
    [second] = stack.worker.poll()
    assert second["id"] != first["id"]
    assert second["data"]["continuationToken"] == "page-2"
    # When the worker finishes it
    stack.api.acknowledge_job(jobId=second["id"], nonce=second["nonce"])
    stack.worker.scan(second)
    stack.api.put_job_success_result(jobId=second["id"], outputVariables={"Pages": "2"})
    # Then the action succeeds once
    assert stack.run(started)["status"] == "SUCCEEDED"


def test_a_job_never_acknowledged_is_offered_again_with_a_new_nonce(stack: Stack) -> None:
    stack.register_type()
    stack.api.create_pipeline(pipeline=stack.declaration())
    stack.start()
    now = wiring.now()
    wiring.install_clock(lambda: now)
    # Given a job dispatched to a worker that died before acknowledging it
    [lost] = stack.worker.poll()
    # Then within the acknowledgement window nobody else gets it
    assert stack.worker.poll() == []
    # When the window passes
    wiring.install_clock(lambda: now + 61)
    [again] = stack.worker.poll()
    # Then the same job is offered with a new nonce, and the old nonce no longer acknowledges it
    assert again["id"] == lost["id"]
    assert again["nonce"] != lost["nonce"]
    with pytest.raises(stack.api.exceptions.InvalidNonceException):
        stack.api.acknowledge_job(jobId=lost["id"], nonce=lost["nonce"])
    assert stack.api.acknowledge_job(jobId=again["id"], nonce=again["nonce"])["status"] == "InProgress"
    with pytest.raises(stack.api.exceptions.JobNotFoundException):
        stack.api.get_job_details(jobId="00000000-0000-0000-0000-000000000000")


def test_artifacts_are_reachable_only_with_the_jobs_credentials_and_names(stack: Stack) -> None:
    stack.register_type()
    stack.api.create_pipeline(pipeline=stack.declaration())
    stack.start()
    [job] = stack.worker.poll()
    source = job["data"]["inputArtifacts"][0]["location"]["s3Location"]
    forged = dict(job, data={**job["data"], "artifactCredentials": {**job["data"]["artifactCredentials"]}})
    forged["data"]["artifactCredentials"]["secretAccessKey"] = "guessed"
    # When the input is read with a wrong secret, or an object the job does not name is asked for
    with pytest.raises(ClientError) as wrong_secret:
        stack.worker.s3(forged).get_object(Bucket=source["bucketName"], Key=source["objectKey"])
    with pytest.raises(ClientError) as elsewhere:
        stack.worker.s3(job).get_object(Bucket=source["bucketName"], Key=f"{job['id']}.Secrets")
    # And the input is written to, which is the job's to read only
    with pytest.raises(ClientError) as overwrite:
        stack.worker.s3(job).put_object(Bucket=source["bucketName"], Key=source["objectKey"], Body=b"x")
    # Then each is refused as S3 refuses it
    assert wrong_secret.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert elsewhere.value.response["Error"]["Code"] == "NoSuchKey"
    assert overwrite.value.response["Error"]["Code"] == "AccessDenied"


def test_a_queryable_property_hands_each_worker_only_its_jobs(stack: Stack) -> None:
    # Given a type whose Policy is queryable, and a run of an action with Policy strict
    stack.api.create_custom_action_type(
        category="Test",
        provider="LicenceScanner",
        version="1",
        configurationProperties=[{"name": "Policy", "required": True, "key": True, "secret": False, "queryable": True}],
        inputArtifactDetails={"minimumCount": 1, "maximumCount": 1},
        outputArtifactDetails={"minimumCount": 1, "maximumCount": 1},
    )
    stack.api.create_pipeline(pipeline=stack.declaration())
    stack.start()
    # When a worker for another policy polls, and one that names no policy
    lenient = stack.api.poll_for_jobs(actionTypeId=TYPE, queryParam={"Policy": "lenient"})["jobs"]
    with pytest.raises(stack.api.exceptions.ValidationException) as unnamed:
        stack.api.poll_for_jobs(actionTypeId=TYPE)
    # Then neither gets the job; the worker for strict does
    assert lenient == []
    assert "queryable property 'Policy' must be given" in str(unnamed.value)
    [job] = stack.api.poll_for_jobs(actionTypeId=TYPE, queryParam={"Policy": "strict"})["jobs"]
    assert job["data"]["actionConfiguration"]["configuration"]["Policy"] == "strict"
