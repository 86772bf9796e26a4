"""The FriendReminders world around the stack: what a user has and does, as README's AWS section
tells them. A CodeCommit repository and a CodeBuild project (both answered by the fakes in
services.py), an ECS cluster and service (moto), each tagged stepline=enabled; the build
project's role with the stack's ArtifactAccessPolicy attached; the task execution role named
in the stack's EcsTaskRoleArns. Then `stepline deploy`, a push, and the work the services do:
builds run as their project's role, deployments complete, and their documented events go
through EventBridge — unless a test drops or repeats them.
"""

from __future__ import annotations

import copy
import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends

from stepline import cli
from tests.awsstack.harness import MotoStack, whole_stack
from tests.awsstack.services import Build, build_event
from tests.awsstack.template import ACCOUNT, REGION
from tests.helpers import EXAMPLES, load_event

TAG = {"stepline": "enabled"}
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/rails_app"


class FriendReminders:
    def __init__(self, admin: Callable[[str], Any], monkeypatch: Any) -> None:
        iam = admin("iam")
        trust_tasks = {
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ]
        }
        self.execution_role = iam.create_role(
            RoleName="ecsTaskExecutionRole", AssumeRolePolicyDocument=json.dumps(trust_tasks)
        )["Role"]["Arn"]
        # The user deploys the stack with their ECS roles named (sam deploy --guided asks).
        self.stack: MotoStack = whole_stack({"EcsTaskRoleArns": [self.execution_role]})
        self.admin = admin
        edge = self.stack.edge
        # CodeCommit: the repository, tagged, with a commit on master
        edge.codecommit.add_repository("FriendReminders", TAG)
        self.commit = edge.codecommit.commit(
            "FriendReminders",
            "master",
            {
                "buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands: [docker build .]\n",
                "Dockerfile": "FROM ruby\n",
                "app/reminders.rb": "puts 'hi'\n",
            },
            "Send reminders at 9am",
        )
        # CodeBuild: the project, tagged, whose role has only logs of its own, plus the stack's
        # artifact policy attached (README: "what to grant your build projects")
        trust_builds = {
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ]
        }
        role = iam.create_role(RoleName="codebuild-friendreminders", AssumeRolePolicyDocument=json.dumps(trust_builds))[
            "Role"
        ]
        iam.put_role_policy(
            RoleName=role["RoleName"],
            PolicyName="logs",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*"}],
                }
            ),
        )
        iam.attach_role_policy(
            RoleName=role["RoleName"], PolicyArn=self.stack.stack.outputs()["ArtifactAccessPolicyArn"]
        )
        edge.codebuild.add_project("FriendRemindersBuild", role["Arn"], TAG)
        # ECS: the cluster and service, tagged, without the deployment circuit breaker
        ecs = admin("ecs")
        ecs.create_cluster(clusterName="friendreminders")
        definition = ecs.register_task_definition(
            family="remindersmgt",
            containerDefinitions=[{"name": "rails", "image": f"{IMAGE}:v1", "memory": 512, "essential": True}],
            executionRoleArn=self.execution_role,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
        )["taskDefinition"]
        self.service_arn = ecs.create_service(
            cluster="friendreminders",
            serviceName="remindersmgt",
            taskDefinition=definition["taskDefinitionArn"],
            desiredCount=2,
            tags=[{"key": "stepline", "value": "enabled"}],
        )["service"]["serviceArn"]
        # `stepline deploy` reads the targets as its user (the operator), faked where moto cannot
        operator = {
            service: edge.attach(admin_client(service), "operator", None)
            for service in ("codebuild", "codecommit", "iam")
        }
        from stepline.adapters.aws.targets import AwsTargets

        monkeypatch.setattr(
            "stepline.cli.deploy.targets",
            lambda region: AwsTargets(lambda service: operator.get(service) or admin(service)),
        )
        self.drop_events = False
        self.repeat_events = False
        self.finished_builds: set[str] = set()
        self.completed_deployments: set[str] = set()
        self.build_outcome = "SUCCEEDED"
        self._last_sweep = 0.0

    def finish_builds_at_once(self) -> None:
        """The build ends, and its event is delivered, while StartBuild is still returning:
        before the build function has attached the build to its waiter."""

        def finish(build: Build) -> None:
            self.finished_builds.add(build.id)
            self.send(self.run_build(build))

        self.stack.edge.codebuild.on_start.append(finish)

    def sweep_later(self) -> None:
        """Five minutes and more pass, and the schedule fires the sweeper (at most twice a second
        of test time: a sweep is idempotent, this only spares the log)."""
        if time.monotonic() - self._last_sweep >= 0.5:
            self._last_sweep = time.monotonic()
            self.stack.tick(after_seconds=6 * 60)

    def api(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """API Gateway's proxy event for a request, given to the API function (as API Gateway
        calls it: synchronously; an error propagates as it would become a 502)."""
        event = copy.deepcopy(load_event("api/cli-decision.json"))
        resource = "/" if path == "/" else "/{proxy+}"
        event.update(resource=resource, path=path, httpMethod=method, body=body, isBase64Encoded=False)
        event["headers"] = {"Content-Type": "application/json", "X-Forwarded-Proto": "https", **(headers or {})}
        event["multiValueHeaders"] = {key: [value] for key, value in event["headers"].items()}
        event["pathParameters"] = None if path == "/" else {"proxy": path.lstrip("/")}
        event["requestContext"] = {
            **event["requestContext"],
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/Prod{path}",
        }
        result: dict[str, Any] = self.stack.run(self.stack.stack.ref("ApiFunction"), event)
        return result

    def decide(self, execution: str, stage: str, action: str, decision: str = "Approved") -> dict[str, Any]:
        body = {
            "execution": execution,
            "stage": stage,
            "action": action,
            "decision": decision,
            "comment": "ship it",
            "reviewer": "Ada",
        }
        return self.api("POST", "/api/approvals", json.dumps(body), {"Authorization": f"Bearer {self.stack.api_token}"})

    # --- what the user does ------------------------------------------------------------------

    def deploy(self, document: dict[str, Any] | None = None, tmp: Any = None) -> int:
        path = EXAMPLES / "friend-reminders.json"
        if document is not None:
            path = tmp / "pipeline.json"
            path.write_text(json.dumps(document))
        return cli.main(["deploy", str(path), "--region", REGION])

    def push(self) -> str:
        """A push to master: CodeCommit's event, through the stack's rule, to the trigger function."""
        event = copy.deepcopy(load_event("trigger/codecommit-branch-updated.json"))
        event.update(
            id=str(uuid.uuid4()), account=ACCOUNT, resources=[self.stack.edge.codecommit.arn("FriendReminders")]
        )
        event["detail"]["commitId"] = self.commit
        [invocation] = self.stack.deliver(event)
        assert not invocation.error, invocation.error
        [started] = invocation.result["started"]
        return self.execution_arn(started)

    def execution_arn(self, started: str) -> str:
        for machine in self.admin("stepfunctions").list_state_machines()["stateMachines"]:
            for execution in self.admin("stepfunctions").list_executions(stateMachineArn=machine["stateMachineArn"])[
                "executions"
            ]:
                if execution["executionArn"].endswith(":" + started.rsplit("/", 1)[-1]) or execution["name"] in started:
                    return str(execution["executionArn"])
        raise AssertionError(f"no execution for {started}")

    # --- what the services do -------------------------------------------------------------------

    def run_build(self, build: Build) -> dict[str, Any]:
        """The build runs as its project's service role: it reads its source from the artifact
        bucket and writes imagedefinitions.json there, as the buildspec would."""
        role = self.stack.edge.codebuild.projects[build.project]["serviceRole"].rsplit("/", 1)[-1]
        s3 = self.stack.principal_client(role, "s3")
        bucket, _, key = build.parameters["sourceLocationOverride"].partition("/")
        source = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        assert "buildspec.yml" in source.namelist()
        out = build.parameters["artifactsOverride"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr(
                "imagedefinitions.json", json.dumps([{"name": "rails", "imageUri": f"{IMAGE}:{self.commit[:7]}"}])
            )
        s3.put_object(Bucket=out["location"], Key=f"{out['path']}/{out['name']}", Body=archive.getvalue())
        build.status = self.build_outcome
        build.phases = [
            {"phaseType": phase, "phaseStatus": "SUCCEEDED"}
            for phase in ("SUBMITTED", "PROVISIONING", "DOWNLOAD_SOURCE", "BUILD", "UPLOAD_ARTIFACTS")
        ]
        build.exported = {"IMAGE_TAG": self.commit[:7]}
        return build_event(build)

    def complete_deployment(self, deployment: str) -> dict[str, Any]:
        """ECS reaches steady state: the deployment's rolloutState, and the documented event."""
        service = ecs_backends[DEFAULT_ACCOUNT_ID][REGION].services["friendreminders:remindersmgt"]
        for current in service.deployments:
            if current["id"] == deployment:
                current["rolloutState"] = "COMPLETED"
        event = copy.deepcopy(load_event("callbacks/ecs-deployment-completed.json"))
        event.update(id=str(uuid.uuid4()), account=ACCOUNT, resources=[self.service_arn])
        event["detail"].update(deploymentId=deployment, reason=f"ECS deployment {deployment} completed.")
        return event

    def advance(self) -> bool:
        """Finish whatever work has started; True when something happened."""
        moved = False
        for build in self.stack.edge.codebuild.started():
            if build.id not in self.finished_builds:
                self.finished_builds.add(build.id)
                self.send(self.run_build(build))
                moved = True
        for call in self.stack.edge.ledger.succeeded("ecs", "UpdateService", "DeployEcsFunctionRole"):
            deployment = self._primary_deployment()
            if deployment not in self.completed_deployments:
                self.completed_deployments.add(deployment)
                self.send(self.complete_deployment(deployment))
                moved = True
            del call
        return moved

    def _primary_deployment(self) -> str:
        described = self.admin("ecs").describe_services(cluster="friendreminders", services=["remindersmgt"])
        return str(next(d["id"] for d in described["services"][0]["deployments"] if d["status"] == "PRIMARY"))

    def send(self, event: dict[str, Any]) -> None:
        if self.drop_events:
            return
        self.stack.deliver(event)
        if self.repeat_events:
            self.stack.deliver(copy.deepcopy(event))  # EventBridge delivers at least once

    def run(
        self, execution_arn: str, on_idle: Callable[[], None] | None = None, limit_seconds: float = 300
    ) -> dict[str, Any]:
        """Until the execution ends: work finishes as it starts; when nothing moves, ``on_idle``
        (a person deciding, five minutes passing for the sweeper). Waits for moto's interpreter
        thread by polling its status, never for a fixed time."""
        sfn = self.admin("stepfunctions")
        deadline = time.monotonic() + limit_seconds
        while time.monotonic() < deadline:
            described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if not self.advance() and on_idle is not None:
                on_idle()
            time.sleep(0.05)
        raise AssertionError(f"{execution_arn} still running after {limit_seconds} s")


def admin_client(service: str) -> Any:
    import boto3

    return boto3.client(service, region_name=REGION)
