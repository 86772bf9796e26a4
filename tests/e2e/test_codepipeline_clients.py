"""The CodePipeline API of a real `stepline serve` (a subprocess, real HTTP on loopback), driven
by the AWS CLI itself (the ``awscli`` package's ``aws``) and by boto3's client, pointed at it
with ``--endpoint-url`` / ``endpoint_url`` and nothing else: the user's own clients, unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.e2e.local_server import APPROVE, BUILD, Server, commit_and_push, pipeline, repositories, wait_for

ROLE = "arn:aws:iam::111122223333:role/release"  # an exported declaration names one; Stepline's stack runs it
AWS = [sys.executable, "-c", "import sys; from awscli.clidriver import main; sys.exit(main())"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    running.start()
    yield running
    running.stop()


def token(server: Server) -> str:
    return (server.data / "api-token").read_text().strip()


def aws(server: Server, *arguments: str, secret: str | None = None) -> subprocess.CompletedProcess[str]:
    """``aws codepipeline …`` as a user runs it: credentials from the environment, nothing else."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ACCESS_KEY_ID": "stepline",
        "AWS_SECRET_ACCESS_KEY": secret or token(server),
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        [*AWS, "codepipeline", *arguments, "--endpoint-url", server.url, "--output", "json"],
        cwd=server.home,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def answer(completed: subprocess.CompletedProcess[str]) -> Any:
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout) if completed.stdout.strip() else {}


def test_the_aws_cli_creates_runs_approves_and_reads_a_pipeline(server: Server) -> None:
    # Given the server, which says where the CLI reaches it
    assert server.said(r"aws codepipeline … --endpoint-url (\S+) \(access key id stepline")[1] == server.url
    # Given a repository and a pipeline exported as `aws codepipeline get-pipeline` writes it
    # (without its metadata, which create-pipeline does not take)
    bare, work = repositories(server.home)
    commit_and_push(work, {}, "the sample app")
    declaration = pipeline("release", bare, [APPROVE, BUILD], roleArn=ROLE)
    exported = server.home / "pipeline.json"
    exported.write_text(json.dumps({"pipeline": declaration}))
    # When the CLI creates it and starts it
    created = answer(aws(server, "create-pipeline", "--cli-input-json", f"file://{exported}"))
    assert created["pipeline"]["version"] == 1
    started = answer(aws(server, "start-pipeline-execution", "--name", "release"))["pipelineExecutionId"]

    # And reads its state until the approval waits
    def waiting_token() -> str | None:
        state = answer(aws(server, "get-pipeline-state", "--name", "release"))
        approve = next(s for s in state["stageStates"] if s["stageName"] == "Approve")
        latest = approve["actionStates"][0].get("latestExecution", {})
        return latest.get("token") if latest.get("status") == "InProgress" else None

    approval_token = wait_for(waiting_token, "the approval to wait", timeout=120)
    # Then put-approval-result with that token approves it, as the CLI's documentation shows
    approved = aws(
        server,
        "put-approval-result",
        "--pipeline-name", "release",
        "--stage-name", "Approve",
        "--action-name", "Release",
        "--result", "summary=Ship it,status=Approved",
        "--token", approval_token,
    )  # fmt: skip
    assert "approvedAt" in answer(approved)

    # And the execution succeeds, stage by stage
    def ended() -> str | None:
        execution = answer(
            aws(server, "get-pipeline-execution", "--pipeline-name", "release", "--pipeline-execution-id", started)
        )["pipelineExecution"]
        return None if execution["status"] == "InProgress" else str(execution["status"])

    assert wait_for(ended, "the execution to end", timeout=180) == "Succeeded"
    state = answer(aws(server, "get-pipeline-state", "--name", "release"))
    assert [s["latestExecution"]["status"] for s in state["stageStates"]] == ["Succeeded"] * 3
    # And its action executions say what each action ran on and produced
    details = answer(
        aws(
            server, "list-action-executions", "--pipeline-name", "release", "--filter", f"pipelineExecutionId={started}"
        )
    )["actionExecutionDetails"]
    by_action = {d["actionName"]: d for d in details}
    assert set(by_action) == {"Checkout", "Release", "TestAndPackage"}
    assert by_action["Checkout"]["output"]["outputVariables"]["BranchName"] == "main"
    assert by_action["TestAndPackage"]["output"]["outputArtifacts"] == [{"name": "Package"}]
    # When the pipeline is exported and the export given back as an update
    got = answer(aws(server, "get-pipeline", "--name", "release"))
    assert got["metadata"]["pipelineArn"].startswith("arn:aws:codepipeline:eu-central-1:")
    exported.write_text(json.dumps({"pipeline": got["pipeline"]}))
    updated = answer(aws(server, "update-pipeline", "--cli-input-json", f"file://{exported}"))
    # Then it is version 2, and the run keeps the version it ran with
    assert updated["pipeline"]["version"] == 2
    execution = answer(
        aws(server, "get-pipeline-execution", "--pipeline-name", "release", "--pipeline-execution-id", started)
    )
    assert execution["pipelineExecution"]["pipelineVersion"] == 1
    assert [p["name"] for p in answer(aws(server, "list-pipelines"))["pipelines"]] == ["release"]
    listed = answer(aws(server, "list-pipeline-executions", "--pipeline-name", "release"))
    assert [s["pipelineExecutionId"] for s in listed["pipelineExecutionSummaries"]] == [started]
    # And a lever run control brings is answered as AWS's error, not a traceback
    stop = aws(server, "stop-pipeline-execution", "--pipeline-name", "release", "--pipeline-execution-id", started)
    assert stop.returncode != 0
    assert "An error occurred (" in stop.stderr
    # When the pipeline is deleted, Then it is gone
    answer(aws(server, "delete-pipeline", "--name", "release"))
    assert answer(aws(server, "list-pipelines"))["pipelines"] == []


def test_the_cli_reports_refusals_as_aws_errors_and_nothing_changes(server: Server) -> None:
    # Given a pipeline the server knows
    bare, work = repositories(server.home)
    commit_and_push(work, {}, "the sample app")
    document = server.home / "pipeline.json"
    document.write_text(json.dumps({"pipeline": pipeline("release", bare, [BUILD], roleArn=ROLE)}))
    answer(aws(server, "create-pipeline", "--cli-input-json", f"file://{document}"))
    # When a forged secret deletes it, or an unknown pipeline is read
    forged = aws(server, "delete-pipeline", "--name", "release", secret="guessed")
    missing = aws(server, "get-pipeline", "--name", "ghost")
    # Then the CLI prints AWS's errors and fails, and the pipeline is still there
    assert forged.returncode != 0
    assert "An error occurred (InvalidSignatureException) when calling the DeletePipeline operation" in forged.stderr
    assert missing.returncode != 0
    assert "An error occurred (PipelineNotFoundException) when calling the GetPipeline operation" in missing.stderr
    assert [p["name"] for p in answer(aws(server, "list-pipelines"))["pipelines"]] == ["release"]


def test_boto3_over_http_reads_what_the_server_runs(server: Server) -> None:
    # Given boto3's client pointed at the server, signing with the API token
    client = boto3.client(
        "codepipeline",
        region_name="ap-southeast-2",
        endpoint_url=server.url,
        aws_access_key_id="stepline",
        aws_secret_access_key=token(server),
        config=Config(retries={"max_attempts": 1}),
    )
    bare, work = repositories(server.home)
    commit_and_push(work, {}, "the sample app")
    # When it creates a pipeline and starts it with a client request token, twice
    client.create_pipeline(pipeline=pipeline("app", bare, [BUILD], roleArn=ROLE))
    first = client.start_pipeline_execution(name="app", clientRequestToken="build-1")["pipelineExecutionId"]
    second = client.start_pipeline_execution(name="app", clientRequestToken="build-1")["pipelineExecutionId"]
    # Then one execution runs, to success
    assert first == second

    def status() -> str | None:
        found = client.get_pipeline_execution(pipelineName="app", pipelineExecutionId=first)["pipelineExecution"]
        return None if found["status"] == "InProgress" else str(found["status"])

    assert wait_for(status, "the execution to end", timeout=180) == "Succeeded"
    summaries = client.list_pipeline_executions(pipelineName="app")["pipelineExecutionSummaries"]
    assert [(s["pipelineExecutionId"], s["status"]) for s in summaries] == [(first, "Succeeded")]
    # When it deletes the pipeline
    client.delete_pipeline(name="app")
    # Then the server no longer knows it
    with pytest.raises(client.exceptions.PipelineNotFoundException):
        client.get_pipeline_state(name="app")


SCANNER = {"category": "Test", "owner": "Custom", "provider": "LicenceScanner", "version": "1"}


def scanner_worker(server: Server) -> tuple[Any, Any]:
    """A worker's clients, as one written for AWS makes them: codepipeline, then S3 with each
    job's artifact credentials."""
    codepipeline = boto3.client(
        "codepipeline",
        region_name="us-west-2",
        endpoint_url=server.url,
        aws_access_key_id="stepline",
        aws_secret_access_key=token(server),
        config=Config(retries={"max_attempts": 1}),
    )

    def s3(job: dict[str, Any]) -> Any:
        credentials = job["data"]["artifactCredentials"]
        return boto3.client(
            "s3",
            region_name="us-west-2",
            endpoint_url=server.url,
            aws_access_key_id=credentials["accessKeyId"],
            aws_secret_access_key=credentials["secretAccessKey"],
            aws_session_token=credentials["sessionToken"] or None,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    return codepipeline, s3


def test_custom_action_jobs_through_the_cli_and_a_boto3_worker_over_http(server: Server) -> None:
    # Given a custom action type registered with the CLI and a pipeline using it
    bare, work = repositories(server.home)
    commit_and_push(work, {}, "the sample app")
    answer(
        aws(
            server,
            "create-custom-action-type",
            "--category", "Test", "--provider", "LicenceScanner", "--action-version", "1",
            "--input-artifact-details", "minimumCount=1,maximumCount=1",
            "--output-artifact-details", "minimumCount=0,maximumCount=1",
        )
    )  # fmt: skip
    listed = answer(aws(server, "list-action-types", "--action-owner-filter", "Custom"))["actionTypes"]
    assert SCANNER in [t["id"] for t in listed]
    scan = {
        "name": "Scan",
        "actions": [
            {
                "name": "Licences",
                "actionTypeId": SCANNER,
                "inputArtifacts": [{"name": "Src"}],
                "outputArtifacts": [{"name": "Report"}],
                "namespace": "Scan",
            }
        ],
    }
    document = server.home / "pipeline.json"
    document.write_text(json.dumps({"pipeline": pipeline("scanned", bare, [scan], roleArn=ROLE)}))
    answer(aws(server, "create-pipeline", "--cli-input-json", f"file://{document}"))
    codepipeline, s3 = scanner_worker(server)
    # When an execution starts and a boto3 worker takes its job over HTTP
    first = codepipeline.start_pipeline_execution(name="scanned")["pipelineExecutionId"]
    job = wait_for(lambda: (codepipeline.poll_for_jobs(actionTypeId=SCANNER)["jobs"] or [None])[0], "a job")
    codepipeline.acknowledge_job(jobId=job["id"], nonce=job["nonce"])
    source = job["data"]["inputArtifacts"][0]["location"]["s3Location"]
    archive = s3(job).get_object(Bucket=source["bucketName"], Key=source["objectKey"])["Body"].read()
    report = job["data"]["outputArtifacts"][0]["location"]["s3Location"]
    s3(job).put_object(Bucket=report["bucketName"], Key=report["objectKey"], Body=archive)
    codepipeline.put_job_success_result(jobId=job["id"], outputVariables={"Bytes": str(len(archive))})

    # Then the execution succeeds with the worker's variables
    def status(execution: str) -> str | None:
        found = codepipeline.get_pipeline_execution(pipelineName="scanned", pipelineExecutionId=execution)
        return None if found["pipelineExecution"]["status"] == "InProgress" else found["pipelineExecution"]["status"]

    assert wait_for(lambda: status(first), "the first execution to end") == "Succeeded"
    details = answer(
        aws(server, "list-action-executions", "--pipeline-name", "scanned", "--filter", f"pipelineExecutionId={first}")
    )["actionExecutionDetails"]
    assert next(d for d in details if d["actionName"] == "Licences")["output"]["outputVariables"] == {
        "Bytes": str(len(archive))
    }
    # When a second execution's job is taken and failed with the CLI alone
    second = answer(aws(server, "start-pipeline-execution", "--name", "scanned"))["pipelineExecutionId"]

    def polled() -> dict[str, Any] | None:
        jobs = answer(aws(server, "poll-for-jobs", "--action-type-id", json.dumps(SCANNER)))["jobs"]
        return jobs[0] if jobs else None

    stepped = wait_for(polled, "the second job")
    answer(aws(server, "acknowledge-job", "--job-id", stepped["id"], "--nonce", stepped["nonce"]))
    # (first a step reported with a continuation token, which queues the job again)
    answer(aws(server, "put-job-success-result", "--job-id", stepped["id"], "--continuation-token", "step-2"))
    cli_job = wait_for(polled, "the continued job")
    assert cli_job["data"]["continuationToken"] == "step-2"
    assert (
        answer(aws(server, "acknowledge-job", "--job-id", cli_job["id"], "--nonce", cli_job["nonce"]))["status"]
        == "InProgress"
    )
    assert answer(aws(server, "get-job-details", "--job-id", cli_job["id"]))["jobDetails"]["id"] == cli_job["id"]
    answer(
        aws(
            server,
            "put-job-failure-result",
            "--job-id", cli_job["id"],
            "--failure-details", "type=JobFailed,message=GPL-3.0 in vendor/",
        )
    )  # fmt: skip
    # Then that execution fails with the worker's message, and the executions list says both
    assert wait_for(lambda: status(second), "the second execution to end") == "Failed"
    summaries = answer(aws(server, "list-pipeline-executions", "--pipeline-name", "scanned"))
    assert [s["status"] for s in summaries["pipelineExecutionSummaries"]] == ["Failed", "Succeeded"]
    # And the type can be deleted
    answer(
        aws(
            server,
            "delete-custom-action-type",
            "--category", "Test", "--provider", "LicenceScanner", "--action-version", "1",
        )
    )  # fmt: skip
    assert SCANNER not in [t["id"] for t in answer(aws(server, "list-action-types"))["actionTypes"]]


def test_boto3_over_http_runs_the_approval_scenario(server: Server) -> None:
    # Given boto3's client at the server, and a pipeline created from its declaration
    client, _ = scanner_worker(server)
    bare, work = repositories(server.home)
    commit_and_push(work, {}, "the sample app")
    client.create_pipeline(pipeline=pipeline("release", bare, [APPROVE, BUILD], roleArn=ROLE))
    assert [p["name"] for p in client.list_pipelines()["pipelines"]] == ["release"]
    # When it starts, and its state is read until the approval waits
    started = client.start_pipeline_execution(name="release")["pipelineExecutionId"]

    def waiting() -> str | None:
        stages = client.get_pipeline_state(name="release")["stageStates"]
        latest = stages[1]["actionStates"][0].get("latestExecution", {})
        return latest.get("token") if latest.get("status") == "InProgress" else None

    token_given = wait_for(waiting, "the approval to wait", timeout=120)
    # Then PutApprovalResult with its token approves it, and the run succeeds
    client.put_approval_result(
        pipelineName="release",
        stageName="Approve",
        actionName="Release",
        result={"summary": "Ship it", "status": "Approved"},
        token=token_given,
    )

    def ended() -> str | None:
        found = client.get_pipeline_execution(pipelineName="release", pipelineExecutionId=started)
        return None if found["pipelineExecution"]["status"] == "InProgress" else found["pipelineExecution"]["status"]

    assert wait_for(ended, "the execution to end", timeout=180) == "Succeeded"
    details = client.list_action_executions(pipelineName="release", filter={"pipelineExecutionId": started})
    assert {d["actionName"]: d["status"] for d in details["actionExecutionDetails"]} == {
        "Checkout": "Succeeded",
        "Release": "Succeeded",
        "TestAndPackage": "Succeeded",
    }
    # And an update of the exported declaration is version 2
    exported = client.get_pipeline(name="release")["pipeline"]
    assert client.update_pipeline(pipeline=exported)["pipeline"]["version"] == 2
