"""Every AWS call a function of the stack makes, authorized and recorded at the client edge; and
the services moto cannot play, answered there in the shapes botocore's models define.

``Edge.attach(client, principal)`` registers on a boto3 client:

- ``before-parameter-build``: the call's IAM requests (action, resource ARN, condition context:
  the resource's tags, ``iam:PassedToService``…) are derived from its parameters by a rule per
  operation (``RULES``; an operation without a rule fails the test, so no call slips by) and
  evaluated (tests/awsstack/iam.py) against the principal's policies as moto's IAM holds them,
  plus the bucket's policy for S3. A denial raises AccessDenied as AWS would. Then injected
  faults (throttling, a crash) fire.
- ``before-call``: CodeBuild and CodeCommit, which moto does not run (moto's StartBuild ignores
  overrides and idempotency tokens and its BatchGetBuilds reports every build SUCCEEDED; its
  CodeCommit has no branches, commits, folders or tags), and IAM's SimulatePrincipalPolicy
  (absent from moto), are answered by the fakes below; each answer is validated against the
  operation's output shape, as botocore's Stubber validates its responses.
- ``after-call``: the outcome goes in the ledger, which the tests count.

S3's documented quirk is kept: reading a missing key without s3:ListBucket is 403, not 404.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from tests.awsstack.iam import Request, evaluate
from tests.awsstack.template import ACCOUNT, REGION

IAM_PREFIX = {"stepfunctions": "states"}  # boto3's service name → IAM's prefix, where they differ


class Crash(BaseException):
    """The process running the handler dies here (what Lambda does on a timeout or OOM)."""


@dataclass
class Call:
    principal: str
    service: str
    operation: str
    params: dict[str, Any]
    status: int | None = None
    error: str = ""


@dataclass
class Fault:
    """Make a principal's call fail ``times`` times: with an AWS error code, or by crashing."""

    principal: str  # a role's logical id prefix, e.g. "CallbacksFunctionRole"
    service: str
    operation: str
    times: int = 1
    code: str = "ThrottlingException"
    crash: bool = False


@dataclass
class Ledger:
    calls: list[Call] = field(default_factory=list)
    denials: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def succeeded(self, service: str, operation: str, principal: str = "") -> list[Call]:
        with self.lock:
            return [
                call
                for call in self.calls
                if (call.service, call.operation) == (service, operation)
                and call.status == 200
                and call.principal.startswith(principal)
            ]

    def all(self, service: str, operation: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if (call.service, call.operation) == (service, operation)]


# --- rules: the IAM requests a call makes ------------------------------------------------------------


class Inspector:
    """Admin-side lookups the rules need: ARNs from names, tags of resources."""

    def __init__(
        self,
        admin: Callable[[str], Any],
        codebuild: FakeCodeBuild,
        codecommit: FakeCodeCommit,
        bucket_policies: dict[str, dict[str, Any]],
    ) -> None:
        self.admin = admin
        self.codebuild = codebuild
        self.codecommit = codecommit
        self.bucket_policies = bucket_policies

    def function_arn(self, name: str, qualifier: str | None = None) -> tuple[str, str]:
        """(the ARN requested, the function's own ARN, whose tags apply)."""
        base = name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        parts = base.split(":")
        function = ":".join(parts[:7])
        qualified = base if len(parts) > 7 else (f"{function}:{qualifier}" if qualifier else function)
        return qualified, function

    def function_tags(self, arn: str) -> dict[str, str]:
        try:
            return dict(self.admin("lambda").list_tags(Resource=arn).get("Tags", {}))
        except ClientError:
            return {}

    def service_tags(self, arn: str) -> dict[str, str]:
        try:
            tags = self.admin("ecs").list_tags_for_resource(resourceArn=arn).get("tags", [])
        except ClientError:
            return {}
        return {tag["key"]: tag["value"] for tag in tags}

    def state_machine_tags(self, arn: str) -> dict[str, str]:
        try:
            tags = self.admin("stepfunctions").list_tags_for_resource(resourceArn=arn).get("tags", [])
        except ClientError:
            return {}
        return {tag["key"]: tag["value"] for tag in tags}

    def secret_arn(self, secret: str) -> str:
        if secret.startswith("arn:"):
            return secret
        try:
            return str(self.admin("secretsmanager").describe_secret(SecretId=secret)["ARN"])
        except ClientError:
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}"

    def queue_arn(self, url: str) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rsplit('/', 1)[-1]}"

    def object_exists(self, bucket: str, key: str) -> bool:
        try:
            self.admin("s3").head_object(Bucket=bucket, Key=key)
        except ClientError:
            return False
        return True

    def bucket_policy(self, bucket: str) -> list[dict[str, Any]]:
        return [self.bucket_policies[bucket]] if bucket in self.bucket_policies else []


def _tagged(tags: Mapping[str, str]) -> dict[str, str]:
    return {f"aws:ResourceTag/{key}": value for key, value in tags.items()}


def _table(params: dict[str, Any], _: Inspector) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{params['TableName']}"


def _dynamodb(operation: str) -> Callable[[dict[str, Any], Inspector], list[Request]]:
    return lambda params, inspect: [Request(f"dynamodb:{operation}", _table(params, inspect))]


def _s3_object(action: str) -> Callable[[dict[str, Any], Inspector], list[Request]]:
    def rule(params: dict[str, Any], _: Inspector) -> list[Request]:
        chosen = "s3:GetObjectVersion" if action == "s3:GetObject" and params.get("VersionId") else action
        return [Request(chosen, f"arn:aws:s3:::{params['Bucket']}/{params['Key']}", {"aws:SecureTransport": "true"})]

    return rule


def _s3_bucket(action: str) -> Callable[[dict[str, Any], Inspector], list[Request]]:
    return lambda params, _: [Request(action, f"arn:aws:s3:::{params['Bucket']}", {"aws:SecureTransport": "true"})]


def _execution(action: str, key: str) -> Callable[[dict[str, Any], Inspector], list[Request]]:
    return lambda params, _: [Request(action, params[key])]


def _start_execution(params: dict[str, Any], inspect: Inspector) -> list[Request]:
    arn = params["stateMachineArn"]
    return [Request("states:StartExecution", arn, _tagged(inspect.state_machine_tags(arn)))]


def _lambda(action: str, alias_key: str | None = None) -> Callable[[dict[str, Any], Inspector], list[Request]]:
    def rule(params: dict[str, Any], inspect: Inspector) -> list[Request]:
        qualifier = params.get(alias_key) if alias_key else params.get("Qualifier")
        requested, function = inspect.function_arn(params["FunctionName"], qualifier)
        return [Request(action, requested, _tagged(inspect.function_tags(function)))]

    return rule


def _builds(params: dict[str, Any], inspect: Inspector) -> list[Request]:
    projects = sorted({build_id.split(":", 1)[0] for build_id in params["ids"]})
    return [
        Request("codebuild:BatchGetBuilds", inspect.codebuild.arn(p), _tagged(inspect.codebuild.tags(p)))
        for p in projects
    ]


def _start_build(params: dict[str, Any], inspect: Inspector) -> list[Request]:
    project = params["projectName"]
    return [Request("codebuild:StartBuild", inspect.codebuild.arn(project), _tagged(inspect.codebuild.tags(project)))]


def _codecommit(action: str) -> Callable[[dict[str, Any], Inspector], list[Request]]:
    def rule(params: dict[str, Any], inspect: Inspector) -> list[Request]:
        name = params.get("repositoryName") or params["resourceArn"].rsplit(":", 1)[-1]
        return [Request(action, inspect.codecommit.arn(name), _tagged(inspect.codecommit.tags(name)))]

    return rule


def _services(action: str) -> Callable[[dict[str, Any], Inspector], list[Request]]:
    def rule(params: dict[str, Any], inspect: Inspector) -> list[Request]:
        cluster = params.get("cluster", "default")
        names = params.get("services") or [params["service"]]
        arns = [f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name.rsplit('/', 1)[-1]}" for name in names]
        return [Request(action, arn, _tagged(inspect.service_tags(arn))) for arn in arns]

    return rule


def _register_task_definition(params: dict[str, Any], _: Inspector) -> list[Request]:
    requests = [Request("ecs:RegisterTaskDefinition", "*")]
    for key in ("taskRoleArn", "executionRoleArn"):
        if params.get(key):  # the roles the revision names are passed to ECS's tasks
            requests.append(Request("iam:PassRole", params[key], {"iam:PassedToService": "ecs-tasks.amazonaws.com"}))
    if params.get("tags"):
        arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{params['family']}:*"
        requests.append(Request("ecs:TagResource", arn, {"ecs:CreateAction": "RegisterTaskDefinition"}))
    return requests


RULES: dict[tuple[str, str], Callable[[dict[str, Any], Inspector], list[Request]]] = {
    **{("dynamodb", op): _dynamodb(op) for op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Scan", "Query")},
    ("s3", "PutObject"): _s3_object("s3:PutObject"),
    ("s3", "CreateMultipartUpload"): _s3_object("s3:PutObject"),
    ("s3", "UploadPart"): _s3_object("s3:PutObject"),
    ("s3", "CompleteMultipartUpload"): _s3_object("s3:PutObject"),
    ("s3", "GetObject"): _s3_object("s3:GetObject"),
    ("s3", "HeadObject"): _s3_object("s3:GetObject"),
    ("s3", "GetBucketVersioning"): _s3_bucket("s3:GetBucketVersioning"),
    ("s3", "ListObjectsV2"): _s3_bucket("s3:ListBucket"),
    ("stepfunctions", "StartExecution"): _start_execution,
    ("stepfunctions", "DescribeExecution"): _execution("states:DescribeExecution", "executionArn"),
    ("stepfunctions", "GetExecutionHistory"): _execution("states:GetExecutionHistory", "executionArn"),
    ("stepfunctions", "ListExecutions"): _execution("states:ListExecutions", "stateMachineArn"),
    ("stepfunctions", "StopExecution"): _execution("states:StopExecution", "executionArn"),
    ("events", "PutEvents"): lambda params, _: [
        Request(
            "events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{entry.get('EventBusName', 'default')}"
        )
        for entry in params["Entries"]
    ],
    ("stepfunctions", "SendTaskSuccess"): lambda params, _: [Request("states:SendTaskSuccess", "*")],
    ("stepfunctions", "SendTaskFailure"): lambda params, _: [Request("states:SendTaskFailure", "*")],
    ("lambda", "Invoke"): _lambda("lambda:InvokeFunction"),
    ("lambda", "UpdateFunctionCode"): _lambda("lambda:UpdateFunctionCode"),
    ("lambda", "GetFunctionConfiguration"): _lambda("lambda:GetFunctionConfiguration"),
    ("lambda", "PublishVersion"): _lambda("lambda:PublishVersion"),
    ("lambda", "GetAlias"): _lambda("lambda:GetAlias", "Name"),
    ("lambda", "UpdateAlias"): _lambda("lambda:UpdateAlias", "Name"),
    ("codebuild", "StartBuild"): _start_build,
    ("codebuild", "BatchGetBuilds"): _builds,
    **{
        ("codecommit", op): _codecommit(f"codecommit:{op}")
        for op in ("GetBranch", "GetCommit", "GetFolder", "GetFile", "GetBlob", "GetDifferences")
    },
    ("ecs", "DescribeServices"): _services("ecs:DescribeServices"),
    ("ecs", "UpdateService"): _services("ecs:UpdateService"),
    ("ecs", "DescribeTaskDefinition"): lambda params, _: [Request("ecs:DescribeTaskDefinition", "*")],
    ("ecs", "RegisterTaskDefinition"): _register_task_definition,
    ("sns", "Publish"): lambda params, _: [Request("sns:Publish", params["TopicArn"])],
    ("secretsmanager", "GetSecretValue"): lambda params, inspect: [
        Request("secretsmanager:GetSecretValue", inspect.secret_arn(params["SecretId"]))
    ],
    ("sqs", "SendMessage"): lambda params, inspect: [Request("sqs:SendMessage", inspect.queue_arn(params["QueueUrl"]))],
    ("cloudwatch", "DescribeAlarms"): lambda params, _: [
        Request("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}")
        for name in params.get("AlarmNames", ["*"])
    ],
}


def _policies(admin: Callable[[str], Any], role: str) -> list[dict[str, Any]]:
    """A role's inline and attached policies, as moto's IAM holds them."""
    iam = admin("iam")
    documents = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        documents.append(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        documents.append(version["PolicyVersion"]["Document"])
    return [_document(document) for document in documents]


def _document(document: Any) -> dict[str, Any]:
    import json
    from urllib.parse import unquote

    if isinstance(document, str):
        loaded: dict[str, Any] = json.loads(unquote(document))
        return loaded
    return dict(document)


def _respond(model: Any, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    report = validate_parameters(parsed, model.output_shape) if model.output_shape is not None else None
    if report:
        raise AssertionError(f"the fake {model.name} answer does not fit botocore's model: {report}")
    metadata = {"HTTPStatusCode": 200, "RequestId": str(uuid.uuid4()), "HTTPHeaders": {}, "RetryAttempts": 0}
    return AWSResponse("https://fake", 200, {}, None), {**parsed, "ResponseMetadata": metadata}


def _error(code: str, message: str, status: int = 400) -> tuple[AWSResponse, dict[str, Any]]:
    metadata = {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4()), "HTTPHeaders": {}, "RetryAttempts": 0}
    return AWSResponse("https://fake", status, {}, None), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": metadata,
    }


class Edge:
    """Authorizes, fakes and records the calls of every client it is attached to."""

    def __init__(self, admin: Callable[[str], Any]) -> None:
        self.admin = admin
        self.ledger = Ledger()
        self.faults: list[Fault] = []
        self.codebuild = FakeCodeBuild()
        self.codecommit = FakeCodeCommit()
        self.bucket_policies: dict[str, dict[str, Any]] = {}
        self.inspect = Inspector(admin, self.codebuild, self.codecommit, self.bucket_policies)
        self._policies: dict[str, list[dict[str, Any]]] = {}
        self.fakes: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
            "codebuild": self.codebuild.handle,
            "codecommit": self.codecommit.handle,
            "iam": self._simulate,
        }
        self._lock = threading.Lock()

    def policies(self, role: str) -> list[dict[str, Any]]:
        if role not in self._policies:
            self._policies[role] = _policies(self.admin, role)
        return self._policies[role]

    def forget_policies(self) -> None:
        self._policies.clear()

    def decide(self, role: str, request: Request) -> str:
        return evaluate(self.policies(role), request)

    def attach(self, client: Any, principal: str, role: str | None) -> Any:
        """``role`` None: the operator (the person running stepline deploy): faked, not authorized."""
        events = client.meta.events
        events.register("before-parameter-build.*.*", lambda **kw: self._authorize(principal, role, **kw))
        events.register("before-call.*.*", self._fake)
        events.register("after-call.*.*", lambda **kw: self._record(principal, **kw))
        return client

    # --- hooks ------------------------------------------------------------------------------

    def _authorize(
        self, principal: str, role: str | None, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        service, operation = model.service_model.service_name, model.name
        context["stepline"] = {"params": dict(params), "principal": principal}
        if role is not None:
            rule = RULES.get((service, operation))
            if rule is None:
                raise AssertionError(
                    f"{principal} calls {service}:{operation}, which tests/awsstack/services.py has no IAM rule for"
                )
            for request in rule(params, self.inspect):
                self._check(principal, role, service, operation, request, params)
        with self._lock:
            for fault in self.faults:
                if (
                    fault.times > 0
                    and principal.startswith(fault.principal)
                    and (fault.service, fault.operation) == (service, operation)
                ):
                    fault.times -= 1
                    self.ledger.calls.append(
                        Call(principal, service, operation, dict(params), None, f"fault:{fault.code}")
                    )
                    if fault.crash:
                        raise Crash(f"{principal} crashed while calling {service}:{operation}")
                    raise ClientError({"Error": {"Code": fault.code, "Message": "injected by the test"}}, operation)

    def _check(
        self, principal: str, role: str, service: str, operation: str, request: Request, params: dict[str, Any]
    ) -> None:
        documents = list(self.policies(role))
        if service == "s3":
            documents += self.inspect.bucket_policy(params["Bucket"])
        decision = evaluate(documents, request)
        if decision != "allowed":
            message = f"{principal} may not {request.action} on {request.resource} ({decision})"
            with self._lock:
                self.ledger.denials.append(message)
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, operation)
        if (
            service == "s3"
            and operation in {"GetObject", "HeadObject"}
            and not self.inspect.object_exists(params["Bucket"], params["Key"])
        ):
            listing = Request("s3:ListBucket", f"arn:aws:s3:::{params['Bucket']}", {"aws:SecureTransport": "true"})
            if evaluate(documents, listing) != "allowed":
                # S3 says 403, not 404, for a missing key to a caller that may not list the bucket.
                raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, operation)

    def _fake(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        service = model.service_model.service_name
        fake = self.fakes.get(service)
        if fake is None:
            return None
        params = context.get("stepline", {}).get("params", {})
        try:
            return _respond(model, fake(model.name, params))
        except ClientError as error:
            return _error(error.response["Error"]["Code"], error.response["Error"]["Message"])

    def _record(
        self, principal: str, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        error = parsed.get("Error", {}).get("Code", "") if isinstance(parsed, dict) else ""
        params = context.get("stepline", {}).get("params", {})
        with self._lock:
            self.ledger.calls.append(
                Call(principal, model.service_model.service_name, model.name, params, http_response.status_code, error)
            )

    def _simulate(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """IAM's SimulatePrincipalPolicy (moto has none), answered by the same evaluator."""
        if operation != "SimulatePrincipalPolicy":
            raise AssertionError(f"the fake IAM answers SimulatePrincipalPolicy only, not {operation}")
        role = params["PolicySourceArn"].rsplit("/", 1)[-1]
        results = []
        for action in params["ActionNames"]:
            for resource in params.get("ResourceArns", ["*"]):
                decision = self.decide(role, Request(action, resource))
                verdict = {"allowed": "allowed", "explicitly denied": "explicitDeny"}.get(decision, "implicitDeny")
                results.append({"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": verdict})
        return {"EvaluationResults": results, "IsTruncated": False}


def _not_found(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


# --- CodeBuild -----------------------------------------------------------------------------------------


@dataclass
class Build:
    id: str
    project: str
    parameters: dict[str, Any]
    started: float
    status: str = "IN_PROGRESS"
    phases: list[dict[str, Any]] = field(default_factory=list)
    exported: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:codebuild:{REGION}:{ACCOUNT}:build/{self.id}"

    @property
    def deep_link(self) -> str:
        group, stream = f"/aws/codebuild/{self.project}", self.id.split(":", 1)[1]
        return f"https://console.aws.amazon.com/cloudwatch/home?region={REGION}#logEvent:group={group};stream={stream}"

    def described(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": self.id,
            "arn": self.arn,
            "projectName": self.project,
            "buildStatus": self.status,
            "currentPhase": "COMPLETED" if self.status != "IN_PROGRESS" else "BUILD",
            "buildComplete": self.status != "IN_PROGRESS",
            "phases": self.phases,
            "logs": {"groupName": f"/aws/codebuild/{self.project}", "deepLink": self.deep_link},
        }
        if self.exported:
            answer["exportedEnvironmentVariables"] = [{"name": k, "value": v} for k, v in self.exported.items()]
        return answer


class FakeCodeBuild:
    """CodeBuild as its API documents it: StartBuild honours ``idempotencyToken`` for five
    minutes; builds run when the test says, as their project's service role."""

    IDEMPOTENCY_SECONDS = 300

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.projects: dict[str, dict[str, Any]] = {}
        self.builds: dict[str, Build] = {}
        self.tokens: dict[str, tuple[str, float]] = {}
        self.clock = clock
        self.on_start: list[Callable[[Build], None]] = []
        self.lock = threading.Lock()

    def add_project(self, name: str, service_role: str, tags: Mapping[str, str]) -> None:
        self.projects[name] = {"name": name, "arn": self.arn(name), "serviceRole": service_role, "tags": dict(tags)}

    def arn(self, project: str) -> str:
        return f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{project}"

    def tags(self, project: str) -> dict[str, str]:
        return dict(self.projects.get(project, {}).get("tags", {}))

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "StartBuild":
            return {"build": self._start(params).described()}
        if operation == "BatchGetBuilds":
            found = [self.builds[i].described() for i in params["ids"] if i in self.builds]
            missing = [i for i in params["ids"] if i not in self.builds]
            return {"builds": found, **({"buildsNotFound": missing} if missing else {})}
        if operation == "BatchGetProjects":
            found = [
                {
                    **{k: v for k, v in p.items() if k != "tags"},
                    "tags": [{"key": k, "value": v} for k, v in p["tags"].items()],
                }
                for name, p in self.projects.items()
                if name in params["names"]
            ]
            missing = [n for n in params["names"] if n not in self.projects]
            return {"projects": found, **({"projectsNotFound": missing} if missing else {})}
        raise AssertionError(f"the fake CodeBuild has no {operation}")

    def _start(self, params: dict[str, Any]) -> Build:
        project = params["projectName"]
        if project not in self.projects:
            raise _not_found("ResourceNotFoundException", f"Project cannot be found: {project}", "StartBuild")
        token = params.get("idempotencyToken")
        with self.lock:
            if token and token in self.tokens and self.clock() - self.tokens[token][1] < self.IDEMPOTENCY_SECONDS:
                return self.builds[self.tokens[token][0]]
            build = Build(f"{project}:{uuid.uuid4()}", project, dict(params), self.clock())
            self.builds[build.id] = build
            if token:
                self.tokens[token] = (build.id, self.clock())
        for hook in self.on_start:
            hook(build)
        return build

    def started(self) -> list[Build]:
        with self.lock:
            return list(self.builds.values())


def build_event(build: Build) -> dict[str, Any]:
    """EventBridge's "CodeBuild Build State Change" for a finished build (the documented shape)."""
    phases = [
        {
            "phase-type": phase["phaseType"],
            "phase-status": phase.get("phaseStatus"),
            "phase-context": [f"{c['statusCode']}: {c['message']}" for c in phase.get("contexts", [])],
        }
        for phase in build.phases
    ]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CodeBuild Build State Change",
        "source": "aws.codebuild",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [build.arn],
        "detail": {
            "build-status": build.status,
            "project-name": build.project,
            "build-id": build.arn,
            "additional-information": {
                "build-complete": True,
                "initiator": "stepline",
                "logs": {"deep-link": build.deep_link},
                "phases": phases,
            },
            "current-phase": "COMPLETED",
            "current-phase-context": "[: ]",
            "version": "1",
        },
    }


# --- CodeCommit --------------------------------------------------------------------------------------


@dataclass
class Repository:
    name: str
    tags: dict[str, str]
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeCodeCommit:
    """CodeCommit's read API over repositories held in memory: branches, commits, trees, tags."""

    def __init__(self) -> None:
        self.repositories: dict[str, Repository] = {}

    def add_repository(self, name: str, tags: Mapping[str, str]) -> Repository:
        self.repositories[name] = Repository(name, dict(tags))
        return self.repositories[name]

    def commit(self, name: str, branch: str, files: Mapping[str, str], message: str) -> str:
        repository = self.repositories[name]
        commit = hashlib.sha1(
            f"{name}{branch}{sorted(files.items())}{message}".encode(), usedforsecurity=False
        ).hexdigest()
        repository.commits[commit] = {
            "files": dict(files),
            "message": message,
            "parent": repository.branches.get(branch),
        }
        repository.branches[branch] = commit
        return commit

    def arn(self, name: str) -> str:
        return f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{name}"

    def tags(self, name: str) -> dict[str, str]:
        repository = self.repositories.get(name)
        return dict(repository.tags) if repository else {}

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("repositoryName") or params.get("resourceArn", "").rsplit(":", 1)[-1]
        repository = self.repositories.get(name)
        if repository is None:
            raise _not_found("RepositoryDoesNotExistException", f"{name} does not exist", operation)
        if operation == "GetRepository":
            return {
                "repositoryMetadata": {
                    "repositoryName": name,
                    "Arn": self.arn(name),
                    "accountId": ACCOUNT,
                    "repositoryId": name,
                }
            }
        if operation == "ListTagsForResource":
            return {"tags": dict(repository.tags)}
        if operation == "GetBranch":
            branch = params["branchName"]
            if branch not in repository.branches:
                raise _not_found("BranchDoesNotExistException", f"{branch} does not exist", operation)
            return {"branch": {"branchName": branch, "commitId": repository.branches[branch]}}
        if operation == "GetDifferences":
            return {"differences": []}
        commit_id = params.get("commitId") or params.get("commitSpecifier", "")
        if commit_id not in repository.commits:
            raise _not_found("CommitDoesNotExistException", f"{commit_id} does not exist", operation)
        commit = repository.commits[commit_id]
        files: dict[str, str] = commit["files"]
        if operation == "GetCommit":
            person = {"name": "Ada", "email": "ada@example.com", "date": "1767225660 +0000"}
            parents = [commit["parent"]] if commit["parent"] else []
            return {
                "commit": {
                    "commitId": commit_id,
                    "treeId": commit_id,
                    "parents": parents,
                    "message": commit["message"],
                    "author": person,
                    "committer": person,
                }
            }
        if operation == "GetFolder":
            folder = params["folderPath"].strip("/")
            prefix = f"{folder}/" if folder else ""
            inside = [path for path in files if path.startswith(prefix)]
            direct = [path for path in inside if "/" not in path[len(prefix) :]]
            folders = sorted({prefix + path[len(prefix) :].split("/", 1)[0] for path in inside if path not in direct})
            return {
                "commitId": commit_id,
                "folderPath": "/" + folder,
                "treeId": commit_id,
                "subFolders": [
                    {"treeId": commit_id, "absolutePath": "/" + f, "relativePath": f.rsplit("/", 1)[-1]}
                    for f in folders
                ],
                "files": [
                    {
                        "blobId": hashlib.sha1(files[p].encode(), usedforsecurity=False).hexdigest(),
                        "absolutePath": "/" + p,
                        "relativePath": p.rsplit("/", 1)[-1],
                        "fileMode": "NORMAL",
                    }
                    for p in direct
                ],
                "symbolicLinks": [],
                "subModules": [],
            }
        if operation == "GetFile":
            path = params["filePath"].lstrip("/")
            content = files[path].encode()
            return {
                "commitId": commit_id,
                "blobId": hashlib.sha1(content, usedforsecurity=False).hexdigest(),
                "filePath": "/" + path,
                "fileMode": "NORMAL",
                "fileSize": len(content),
                "fileContent": content,
            }
        raise AssertionError(f"the fake CodeCommit has no {operation}")
