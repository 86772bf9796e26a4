"""Pipelines on one machine against an emulated AWS account. A SAM-style one: `stepline run` of
source → build → CloudFormation CHANGE_SET_REPLACE → approval → CHANGE_SET_EXECUTE, the
CloudFormation actions sent to moto's server (a real HTTP server in a subprocess) through
STEPLINE_AWS_ENDPOINT_URL, and completed by the local sweeper's polling; an S3 deploy publishing
a build to a bucket there. Without credentials, the run refuses before anything runs, naming the
actions."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml

from tests.e2e.local_server import APPROVE, git, pipeline, repositories, wait_for

TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Transform": [],
    "Parameters": {"Stage": {"Type": "String"}, "Commit": {"Type": "String"}},
    "Resources": {
        "Reminders": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "reminders-${Stage}"}}}
    },
    "Outputs": {"QueueUrl": {"Value": {"Ref": "Reminders"}}},
}
BUILDSPEC = """\
version: 0.2
phases:
  build:
    commands:
      - mkdir -p out
      - cp template.json out/packaged.json
      - cp params/prod.json out/params.json
artifacts:
  base-directory: out
  files:
    - '**/*'
"""
CHANGE_SET = {
    "ChangeSetName": "reminders-api-changes",
    "StackName": "reminders-api",
    "RoleArn": "arn:aws:iam::123456789012:role/reminders-cloudformation",
}
STAGES = [
    {
        "name": "Build",
        "actions": [
            {
                "name": "Package",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "reminders-api"},
                "inputArtifacts": [{"name": "Src"}],
                "outputArtifacts": [{"name": "Packaged"}],
            }
        ],
    },
    {
        "name": "Deploy",
        "actions": [
            {
                "name": "CreateChangeSet",
                "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"},
                "namespace": "ChangeSetVariables",
                "configuration": {
                    "ActionMode": "CHANGE_SET_REPLACE",
                    "TemplatePath": "Packaged::packaged.json",
                    "Capabilities": "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND",
                    "ParameterOverrides": json.dumps(
                        {
                            "Stage": {"Fn::GetParam": ["Packaged", "params.json", "Stage"]},
                            "Commit": "#{SourceVariables.CommitId}",
                        }
                    ),
                    **CHANGE_SET,
                },
                "inputArtifacts": [{"name": "Packaged"}],
            }
        ],
    },
    APPROVE,
    {
        "name": "Release",
        "actions": [
            {
                "name": "ExecuteChangeSet",
                "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"},
                "configuration": {"ActionMode": "CHANGE_SET_EXECUTE", **CHANGE_SET},
            }
        ],
    },
]
# Every way botocore could find credentials, taken away (a developer's own must not leak in).
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "STEPLINE_AWS_ENDPOINT_URL",
)


def environment(tmp: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARIABLES}
    return {
        **base,
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-credentials"),
        "AWS_CONFIG_FILE": str(tmp / "no-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def moto_server(tmp_path: Path) -> Iterator[str]:
    """moto's server in a subprocess on a free port, ready when it answers HTTP."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "moto.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"moto_server exited: {(tmp_path / 'moto.log').read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=5):
                return True
        except urllib.error.HTTPError:
            return True  # it answered
        except OSError:
            return False

    try:
        wait_for(answers, "moto_server to answer", timeout=60)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def sam_pipeline(tmp: Path) -> tuple[Path, str]:
    bare, work = repositories(
        tmp,
        {
            "template.json": json.dumps(TEMPLATE),
            "buildspec.yml": BUILDSPEC,
            "params/prod.json": json.dumps({"Stage": "prod"}),
        },
    )
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--message", "reminders api")
    git(work, "push", "--quiet", "origin", "main")
    path = tmp / "reminders-api.yaml"
    path.write_text(yaml.safe_dump(pipeline("reminders-api", bare, STAGES)))
    return path, git(work, "rev-parse", "HEAD").strip()


def run(path: Path, tmp: Path, env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stepline", "run", str(path), *arguments, "--data", str(tmp / ".stepline")],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )


def test_a_sam_style_pipeline_creates_and_executes_its_change_set_on_an_emulated_account(
    tmp_path: Path, moto_server: str
) -> None:
    # Given the pipeline, its repository, and an emulated AWS account with any credentials
    path, commit = sam_pipeline(tmp_path)
    env = environment(
        tmp_path,
        STEPLINE_AWS_ENDPOINT_URL=moto_server,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # moto's server takes any
    )
    # When it runs, approved
    ran = run(path, tmp_path, env, "--approve", "--comment", "change set reviewed")
    # Then every stage succeeded, in order
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for line in (
        "Deploy.CreateChangeSet Succeeded",
        "approving Approve/Release through",
        "Release.ExecuteChangeSet Succeeded",
        "pipeline Succeeded",
    ):
        assert line in ran.stdout, ran.stdout
    # And the emulated account holds the stack the change set made, with the build's parameter
    # (Fn::GetParam) and the commit (a pipeline variable in ParameterOverrides)
    cloudformation = boto3.client(
        "cloudformation",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stack = cloudformation.describe_stacks(StackName="reminders-api")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters == {"Stage": "prod", "Commit": commit}
    change_set = cloudformation.describe_change_set(StackName="reminders-api", ChangeSetName="reminders-api-changes")
    assert change_set["ExecutionStatus"] == "EXECUTE_COMPLETE"
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert sqs.list_queues()["QueueUrls"][0].endswith("/reminders-prod")


def test_without_credentials_the_run_refuses_before_anything_runs_naming_the_actions(tmp_path: Path) -> None:
    path, _ = sam_pipeline(tmp_path)
    ran = run(path, tmp_path, environment(tmp_path))
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "no AWS credentials found, and 2 actions act on an AWS account: " in ran.stderr
    assert "Deploy.CreateChangeSet (Deploy/AWS/CloudFormation), Release.ExecuteChangeSet" in ran.stderr
    assert "STEPLINE_AWS_ENDPOINT_URL" in ran.stderr
    assert not (tmp_path / ".stepline" / "engine.sqlite").exists()  # nothing ran


SITE_STAGE = {
    "name": "Publish",
    "actions": [
        {
            "name": "Site",
            "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
            "configuration": {
                "BucketName": "reminders-site",
                "Extract": "true",
                "ObjectKey": "releases/#{SourceVariables.CommitId}",
                "CacheControl": "max-age=60",
            },
            "inputArtifacts": [{"name": "Packaged"}],
        }
    ],
}


def test_an_s3_deploy_publishes_the_build_to_the_emulated_bucket(tmp_path: Path, moto_server: str) -> None:
    # Given source → build → S3 deploy, and the bucket in the emulated account
    bare, work = repositories(
        tmp_path,
        {
            "template.json": json.dumps(TEMPLATE),
            "buildspec.yml": BUILDSPEC,
            "params/prod.json": json.dumps({"Stage": "prod"}),
        },
    )
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--message", "the site")
    git(work, "push", "--quiet", "origin", "main")
    commit = git(work, "rev-parse", "HEAD").strip()
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(pipeline("reminders-site", bare, [STAGES[0], SITE_STAGE])))
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1", **credentials)
    s3.create_bucket(Bucket="reminders-site")
    env = environment(
        tmp_path,
        STEPLINE_AWS_ENDPOINT_URL=moto_server,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # moto's server takes any
    )
    # When it runs
    ran = run(path, tmp_path, env)
    # Then the build's files are objects under the commit, with the Cache-Control asked for
    assert ran.returncode == 0, ran.stdout + ran.stderr
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="reminders-site")["Contents"])
    assert listed == [f"releases/{commit}/packaged.json", f"releases/{commit}/params.json"]
    page = s3.head_object(Bucket="reminders-site", Key=f"releases/{commit}/packaged.json")
    assert (page["ContentType"], page["CacheControl"]) == ("application/json", "max-age=60")
