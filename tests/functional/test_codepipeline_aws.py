"""The CodePipeline API as the stack's API function serves it on AWS, under moto: boto3's
codepipeline client pointed at the API's stage URL (``…/Prod``), its requests arriving as API
Gateway proxy events (body base64, the stage in ``requestContext.path``) at the function's
resolver, which reads the registry (DynamoDB), Step Functions and the API token (Secrets
Manager) through moto. What only `stepline serve` does is refused as AWS would refuse it."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from stepline.api.app import handle
from stepline.compiler import compile_checked
from stepline.definition.loader import parse_pipeline
from tests.functional.conftest import MotoPipelines
from tests.functional.test_triggers_aws import SECRET, Stack
from tests.handlers import load_handler
from tests.helpers import watching
from tests.moto_env import aws_environment, create_table, moto_aws

pytestmark = pytest.mark.functional
TOKEN = "api-token-for-tests"
STAGE_URL = "https://api.stepline.example/Prod"  # a custom domain: moto intercepts execute-api names


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def through_api_gateway(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
    """The request as API Gateway hands it to the function: a proxy event for the resource
    path, with the stage's path in the request context and the body base64 (binary media)."""
    url = urlsplit(request.url)
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    headers = {
        name: value.decode() if isinstance(value, bytes) else str(value) for name, value in request.headers.items()
    }
    headers["Host"] = url.netloc
    event = {
        "resource": "/",
        "path": url.path.removeprefix("/Prod") or "/",
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"stage": "Prod", "path": url.path, "httpMethod": request.method, "requestId": "r"},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    answer = handle(event, None)
    payload = answer.get("body") or ""
    raw = base64.b64decode(payload) if answer.get("isBase64Encoded") else payload.encode()
    return AWSResponse(request.url, answer["statusCode"], answer.get("headers") or {}, _Raw(raw))


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    environment = {
        "PIPELINES_TABLE": "stepline-pipelines",
        "APPROVALS_TABLE": "stepline-approvals",
        "API_TOKEN_SECRET": "stepline/api-token",
        "LINK_KEY_SECRET": "stepline/approval-link-key",
    }
    with moto_aws(monkeypatch, environment):
        built = Stack()
        # Run control's lock records (GetPipelineState's transitions) live in the task tokens table.
        create_table(boto3.client("dynamodb", region_name="us-east-1"), "TaskTokensTable", "stepline-task-tokens")
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        secrets.create_secret(Name="stepline/api-token", SecretString=TOKEN)
        secrets.create_secret(Name="stepline/approval-link-key", SecretString=SECRET)
        built.register(watching("reminders-main", roleArn="arn:aws:iam::123456789012:role/p"))
        yield built


def codepipeline(secret: str = TOKEN) -> Any:
    made = boto3.client(
        "codepipeline",
        region_name="eu-west-1",
        endpoint_url=STAGE_URL,
        aws_access_key_id="stepline",
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )
    made.meta.events.register("before-send.codepipeline", through_api_gateway)
    return made


def test_the_api_function_serves_the_codepipeline_protocol_on_aws(stack: Stack) -> None:
    client = codepipeline()
    # When a client signs for the stage URL (its path is /Prod/) and lists the registry
    listed = client.list_pipelines()["pipelines"]
    # Then the signature over the stage's path is verified, and DynamoDB's entries answer
    assert [p["name"] for p in listed] == ["reminders-main"]
    got = client.get_pipeline(name="reminders-main")
    assert got["metadata"]["pipelineArn"] == "arn:aws:codepipeline:eu-west-1:123456789012:reminders-main"
    # When it starts an execution, twice with one client request token
    started = client.start_pipeline_execution(name="reminders-main", clientRequestToken="t-1")["pipelineExecutionId"]
    again = client.start_pipeline_execution(name="reminders-main", clientRequestToken="t-1")["pipelineExecutionId"]
    # Then Step Functions runs one execution of the pipeline's state machine, readable back
    assert started == again
    assert [e["name"] for e in stack.executions("reminders-main")] == [started]
    execution = client.get_pipeline_execution(pipelineName="reminders-main", pipelineExecutionId=started)
    assert execution["pipelineExecution"]["pipelineVersion"] == 1
    summaries = client.list_pipeline_executions(pipelineName="reminders-main")["pipelineExecutionSummaries"]
    assert [s["pipelineExecutionId"] for s in summaries] == [started]
    state = client.get_pipeline_state(name="reminders-main")
    assert [s["stageName"] for s in state["stageStates"]] == ["Source", "Build"]


def test_on_aws_what_only_stepline_serve_does_is_refused_and_forgeries_too(stack: Stack) -> None:
    client = codepipeline()
    declaration = watching("another", roleArn="arn:aws:iam::123456789012:role/p")
    # When a pipeline is created through the API on AWS
    with pytest.raises(client.exceptions.ValidationException) as refused:
        client.create_pipeline(pipeline=declaration)
    # Then it says pipelines are deployed with stepline deploy, and nothing was registered
    assert "stepline deploy" in str(refused.value)
    assert [p["name"] for p in client.list_pipelines()["pipelines"]] == ["reminders-main"]
    # And a request signed with another secret deletes nothing
    forged = codepipeline("not-the-token")
    with pytest.raises(forged.exceptions.ClientError) as wrong:
        forged.delete_pipeline(name="reminders-main")
    assert wrong.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert stack.registry.get("reminders-main") is not None


SCANNER = {"category": "Test", "owner": "Custom", "provider": "LicenceScanner", "version": "1"}
BUCKET = "stepline-artifacts-123456789012"


def test_a_job_worker_on_aws_reads_and_writes_s3_with_its_job_credentials(
    moto_pipelines: MotoPipelines, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the stack's tables, bucket, secret and job artifacts role (moto), and a pipeline
    # whose Scan stage is a custom action: its Task calls the real jobs function
    aws_environment(
        monkeypatch,
        {
            "JOBS_TABLE": "stepline-jobs",
            "API_TOKEN_SECRET": "stepline/api-token",
            "ARTIFACT_BUCKET": BUCKET,
            "JOB_ARTIFACTS_ROLE_ARN": "arn:aws:iam::123456789012:role/stepline-job-artifacts",
        },
    )
    create_table(boto3.client("dynamodb", region_name="us-east-1"), "JobsTable", "stepline-jobs")
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name="stepline/api-token", SecretString=TOKEN)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="scanned/run-1/Src.zip", Body=b"PK source")
    jobs_function = load_handler("jobs")
    moto_pipelines.stub(
        "Source",
        "Checkout",
        lambda event: {
            "artifacts": {"Src": {"type": "S3", "location": f"s3://{BUCKET}/scanned/run-1/Src.zip"}},
            "variables": {},
        },
    )
    moto_pipelines.stub("Scan", "Licences", lambda event: jobs_function.lambda_handler(event, None) and None)
    declaration = watching("scanned", provider="Git", repository="/srv/app.git", branch="main")
    declaration["stages"][0]["actions"][0]["name"] = "Checkout"
    declaration["stages"][1] = {
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
    compiled = compile_checked(parse_pipeline(declaration, "scanned.json").pipeline)
    machine = moto_pipelines.deploy(compiled, "stepline-scanned")
    client = codepipeline()
    client.create_custom_action_type(
        category="Test",
        provider="LicenceScanner",
        version="1",
        inputArtifactDetails={"minimumCount": 1, "maximumCount": 1},
        outputArtifactDetails={"minimumCount": 1, "maximumCount": 1},
    )
    # When the execution reaches its custom action and a worker polls for it
    execution = moto_pipelines.start(machine, "run-1")

    def polled() -> dict[str, Any] | None:
        jobs = client.poll_for_jobs(actionTypeId=SCANNER)["jobs"]
        return jobs[0] if jobs else None

    job = wait_until(polled)
    client.acknowledge_job(jobId=job["id"], nonce=job["nonce"])
    # Then the job names the input where the source put it and the output where the store puts
    # outputs, with credentials from the job artifacts role
    [source] = job["data"]["inputArtifacts"]
    [report] = job["data"]["outputArtifacts"]
    assert source["location"]["s3Location"] == {"bucketName": BUCKET, "objectKey": "scanned/run-1/Src.zip"}
    assert report["location"]["s3Location"] == {"bucketName": BUCKET, "objectKey": "scanned/run-1/Report.zip"}
    credentials = job["data"]["artifactCredentials"]
    assert credentials["sessionToken"]
    worker_s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=credentials["accessKeyId"],
        aws_secret_access_key=credentials["secretAccessKey"],
        aws_session_token=credentials["sessionToken"],
    )
    assert worker_s3.get_object(Bucket=BUCKET, Key="scanned/run-1/Src.zip")["Body"].read() == b"PK source"
    worker_s3.put_object(Bucket=BUCKET, Key="scanned/run-1/Report.zip", Body=b"PK report")
    # When it reports success
    client.put_job_success_result(jobId=job["id"], outputVariables={"Licences": "MIT"})
    # Then Step Functions' task is answered and the execution succeeds with the worker's outputs
    finished = moto_pipelines.wait(execution)
    assert finished["status"] == "SUCCEEDED", finished
    assert json.loads(finished["output"])["variables"]["Scan"] == {"Licences": "MIT"}
    assert (
        json.loads(finished["output"])["artifacts"]["Report"]["location"] == f"s3://{BUCKET}/scanned/run-1/Report.zip"
    )


def wait_until(found: Callable[[], Any], limit_seconds: float = 30) -> Any:
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.05)  # polling interval for moto's worker thread, not a measurement
    raise AssertionError("timed out")
