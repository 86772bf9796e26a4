"""The whole Stepline stack in moto, built from template.yaml's own definitions, its functions
run in-process under their own roles.

- **Resources**: every resource of the SAM-transformed template is created with moto's APIs, in
  CloudFormation's dependency order, from its resolved Properties (names as CloudFormation
  gives them). API Gateway and the layer are not created: the API function is called with API
  Gateway's proxy events, and the handlers import the package from this checkout. The stack's
  outputs are a moto CloudFormation stack's outputs, which `stepline deploy` reads.
- **Functions**: moto's Lambda holds each function's configuration (role, environment, DLQ);
  an invocation runs the function's real handler (functions/<CodeUri>/app.py) with that
  environment, its boto3 clients made from credentials of its role (STS AssumeRole) and checked
  call by call by ``services.Edge`` against that role's policies. Invocations run one at a
  time (Lambda's sandboxes are separate processes; here they share one).
- **Step Functions**: pipelines run on moto's ASL interpreter; its Lambda tasks reach the
  handlers through moto's Lambda backend, after the state machine's role is checked.
- **Events**: a service event goes to every rule on the default bus whose pattern matches — as
  moto's own matcher (TestEventPattern) decides — after the rule's target permission (the
  function's resource policy) is checked; the function is invoked asynchronously: retried as
  its EventInvokeConfig says (at once here; Lambda waits a minute, then two), then sent to its
  dead-letter queue as its role.
- **Scheduler**: ``tick`` fires each EventBridge Scheduler schedule once, as its role.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import types
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from stepline import wiring
from stepline.local.template import load_template
from tests.awsstack.iam import Request, evaluate
from tests.awsstack.services import Crash, Edge
from tests.awsstack.template import ACCOUNT, REGION, Stack, creation_order, transformed
from tests.handlers import load_handler
from tests.helpers import REPO

# Not created in moto, and why (every other type a template gains must be handled below).
NOT_CREATED = {
    "AWS::ApiGateway::RestApi": "the API function is called with API Gateway's proxy events",
    "AWS::ApiGateway::Deployment": "as above",
    "AWS::ApiGateway::Stage": "as above",
    "AWS::Lambda::LayerVersion": "the handlers import the stepline package from this checkout",
    "AWS::Lambda::EventInvokeConfig": "read from the template when an asynchronous invocation fails",
}


@dataclass
class Invocation:
    function: str  # logical id
    event: Any
    result: Any = None
    error: str = ""
    attempt: int = 1


@dataclass
class MotoStack:
    """The stack, created in moto; ``functions`` maps physical names to logical ids."""

    stack: Stack
    admin: Callable[[str], Any]
    edge: Edge
    functions: dict[str, str] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    clock_offset: float = 0.0
    api_token: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._principals: list[str] = []
        self._clients: dict[tuple[str, str], Any] = {}
        self._handlers: dict[str, Any] = {}
        self._sources = load_template(REPO / "template.yaml")["Resources"]

    # --- creating the resources ----------------------------------------------------------------

    def create(self) -> None:
        creators = {
            "AWS::S3::Bucket": self._bucket,
            "AWS::S3::BucketPolicy": self._bucket_policy,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SNS::Topic": self._topic,
            "AWS::SQS::Queue": self._queue,
            "AWS::SQS::QueuePolicy": self._queue_policy,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::IAM::ManagedPolicy": self._managed_policy,
            "AWS::IAM::Role": self._role,
            "AWS::Lambda::Function": self._function,
            "AWS::Lambda::Permission": self._permission,
            "AWS::Events::Rule": self._rule,
            "AWS::Scheduler::Schedule": self._schedule,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::CodeBuild::Project": self._project,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::CloudWatch::Alarm": self._alarm,
        }
        for logical in creation_order(self.stack.template):
            resource = self.stack.template["Resources"][logical]
            if "Condition" in resource and not self.stack.condition(resource["Condition"]):
                continue
            kind = resource["Type"]
            if kind in NOT_CREATED:
                continue
            create = creators.get(kind)
            if create is None:
                raise AssertionError(f"the whole-stack harness cannot create {kind} ({logical}): add it")
            create(logical, self.stack.resource(logical))
        outputs = self.stack.outputs()
        self.admin("cloudformation").create_stack(
            StackName=self.stack.name,
            TemplateBody=json.dumps(
                {
                    # moto needs a resource; the outputs are the stack's, resolved
                    "Resources": {
                        "Outputs": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "stepline-outputs"}}
                    },
                    "Outputs": {name: {"Value": value} for name, value in outputs.items()},
                }
            ),
        )

    def _bucket(self, logical: str, p: dict[str, Any]) -> None:
        s3 = self.admin("s3")
        bucket = self.stack.ref(logical)
        s3.create_bucket(Bucket=bucket)
        if p.get("VersioningConfiguration"):
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=p["VersioningConfiguration"])
        if p.get("BucketEncryption"):
            rules = [
                {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})

    def _bucket_policy(self, logical: str, p: dict[str, Any]) -> None:
        # Kept for the edge's evaluator, not given to moto: moto 5.2.5 applies a bucket policy's
        # Deny without reading its Condition, so the TLS-only policy would refuse every request.
        self.edge.bucket_policies[p["Bucket"]] = p["PolicyDocument"]

    def _table(self, logical: str, p: dict[str, Any]) -> None:
        dynamodb = self.admin("dynamodb")
        name = self.stack.ref(logical)
        dynamodb.create_table(
            TableName=name,
            KeySchema=p["KeySchema"],
            AttributeDefinitions=p["AttributeDefinitions"],
            BillingMode=p.get("BillingMode", "PAY_PER_REQUEST"),
        )
        if p.get("TimeToLiveSpecification"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=p["TimeToLiveSpecification"])

    def _topic(self, logical: str, p: dict[str, Any]) -> None:
        arn = self.admin("sns").create_topic(Name=self.stack.get_att(logical, "TopicName"))["TopicArn"]
        self.stack.attributes[logical]["Ref"] = arn

    def _queue(self, logical: str, p: dict[str, Any]) -> None:
        sqs = self.admin("sqs")
        url = sqs.create_queue(QueueName=self.stack.get_att(logical, "QueueName"))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.stack.attributes[logical].update(Ref=url, Arn=arn)

    def _queue_policy(self, logical: str, p: dict[str, Any]) -> None:
        for url in p["Queues"]:
            self.admin("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(p["PolicyDocument"])})

    def _secret(self, logical: str, p: dict[str, Any]) -> None:
        value = secrets.token_urlsafe(36)
        arn = self.admin("secretsmanager").create_secret(
            Name=self.stack.ref(logical).split(":secret:")[1].rsplit("-", 1)[0], SecretString=value
        )["ARN"]
        self.stack.attributes[logical]["Ref"] = arn
        if logical == "ApiToken":
            self.api_token = value

    def _managed_policy(self, logical: str, p: dict[str, Any]) -> None:
        self.admin("iam").create_policy(
            PolicyName=self.stack.ref(logical).rsplit("/", 1)[-1], PolicyDocument=json.dumps(p["PolicyDocument"])
        )

    def _role(self, logical: str, p: dict[str, Any]) -> None:
        iam = self.admin("iam")
        name = self.stack.ref(logical)
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]))
        for policy in p.get("Policies", []):
            # IAM reads a document without Version as 2008-10-17; moto refuses it. SAM writes two
            # such (LambdaInvokePolicy, ScheduleV2's role); the statements are what matter here.
            document = {"Version": "2012-10-17", **policy["PolicyDocument"]}
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(document))
        for arn in p.get("ManagedPolicyArns", []):
            if arn.startswith("arn:aws:iam::aws:policy/"):
                continue  # AWS's own (Lambda's logs, X-Ray): nothing the functions call through boto3
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)

    def _function(self, logical: str, p: dict[str, Any]) -> None:
        name = self.stack.ref(logical)
        parameters: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": p["Runtime"],
            "Role": p["Role"],
            "Handler": p["Handler"],
            "Code": {"ZipFile": b"PK\x05\x06" + b"\x00" * 18},  # the harness runs functions/<CodeUri>
            "Timeout": p.get("Timeout", 3),
            "MemorySize": p.get("MemorySize", 128),
            "Environment": p.get("Environment", {"Variables": {}}),
            "Tags": {tag["Key"]: tag["Value"] for tag in p.get("Tags", [])},
        }
        if p.get("DeadLetterConfig"):
            parameters["DeadLetterConfig"] = p["DeadLetterConfig"]
        self.admin("lambda").create_function(**parameters)
        self.functions[name] = logical

    def _permission(self, logical: str, p: dict[str, Any]) -> None:
        statement: dict[str, Any] = {
            "FunctionName": p["FunctionName"],
            "StatementId": logical,
            "Action": p["Action"],
            "Principal": p["Principal"],
        }
        if p.get("SourceArn"):
            statement["SourceArn"] = p["SourceArn"]
        self.admin("lambda").add_permission(**statement)

    def _rule(self, logical: str, p: dict[str, Any]) -> None:
        events = self.admin("events")
        name = self.stack.ref(logical)
        arn = events.put_rule(Name=name, EventPattern=json.dumps(p["EventPattern"]), State=p.get("State", "ENABLED"))[
            "RuleArn"
        ]
        self.stack.attributes[logical]["Arn"] = arn
        events.put_targets(Rule=name, Targets=p["Targets"])

    def _schedule(self, logical: str, p: dict[str, Any]) -> None:
        self.admin("scheduler").create_schedule(
            Name=p["Name"],
            ScheduleExpression=p["ScheduleExpression"],
            FlexibleTimeWindow=p["FlexibleTimeWindow"],
            Target=p["Target"],
        )

    def _state_machine(self, logical: str, p: dict[str, Any]) -> None:
        definition = p.get("DefinitionString") or json.dumps(p["Definition"])
        for key, value in (p.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        parameters: dict[str, Any] = {
            "name": self.stack.get_att(logical, "Name"),
            "definition": definition,
            "roleArn": p["RoleArn"],
        }
        if p.get("LoggingConfiguration"):
            parameters["loggingConfiguration"] = _lower_first(p["LoggingConfiguration"])
        arn = self.admin("stepfunctions").create_state_machine(**parameters)["stateMachineArn"]
        self.stack.attributes[logical]["Ref"] = arn

    def _project(self, logical: str, p: dict[str, Any]) -> None:
        tags = {tag["Key"]: tag["Value"] for tag in p.get("Tags", [])}
        self.edge.codebuild.add_project(self.stack.ref(logical), p["ServiceRole"], tags)

    def _log_group(self, logical: str, p: dict[str, Any]) -> None:
        self.admin("logs").create_log_group(logGroupName=p["LogGroupName"])

    def _alarm(self, logical: str, p: dict[str, Any]) -> None:
        self.admin("cloudwatch").put_metric_alarm(
            AlarmName=self.stack.ref(logical), **{k: v for k, v in p.items() if k != "AlarmDescription"}
        )

    # --- running functions -------------------------------------------------------------------------

    def role_of(self, function: str) -> str:
        return str(self.admin("lambda").get_function_configuration(FunctionName=function)["Role"])

    def client(self, service: str) -> Any:
        """wiring.client, inside a handler: a client of the current function's role."""
        principal = self._principals[-1]
        return self.principal_client(principal, service)

    def principal_client(self, role_name: str, service: str) -> Any:
        key = (role_name, service)
        if key not in self._clients:
            sts = self.admin("sts")
            credentials = sts.assume_role(
                RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role_name}", RoleSessionName=role_name[:64]
            )["Credentials"]
            session = boto3.session.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=REGION,
            )
            self._clients[key] = self.edge.attach(session.client(service), _logical_role(role_name), role_name)
        return self._clients[key]

    def run(self, function: str, event: Any) -> Any:
        """Run a function's handler once, as Lambda would run one invocation (errors raise)."""
        logical = self.functions[function.rsplit(":", 1)[-1] if ":function:" in function else function]
        configuration = self.admin("lambda").get_function_configuration(FunctionName=self.stack.ref(logical))
        role = configuration["Role"].rsplit("/", 1)[-1]
        trust = self.admin("iam").get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        assert "lambda.amazonaws.com" in json.dumps(trust), f"{role} cannot be assumed by Lambda"
        handler = self._handler(logical)
        with self._lock:
            saved = dict(os.environ)
            self._principals.append(role)
            try:
                os.environ.update(configuration.get("Environment", {}).get("Variables", {}))
                os.environ.update(
                    AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION, AWS_LAMBDA_FUNCTION_NAME=configuration["FunctionName"]
                )
                wiring.reset()
                if self.clock_offset:
                    offset = self.clock_offset
                    wiring.install_clock(lambda: time.time() + offset)
                context = types.SimpleNamespace(
                    function_name=configuration["FunctionName"],
                    invoked_function_arn=configuration["FunctionArn"],
                    aws_request_id=str(uuid.uuid4()),
                    memory_limit_in_mb=configuration.get("MemorySize", 128),
                    get_remaining_time_in_millis=lambda: 60_000,
                )
                invocation = Invocation(logical, event)
                self.invocations.append(invocation)
                try:
                    invocation.result = handler(event, context)
                except (Exception, Crash) as error:
                    invocation.error = f"{type(error).__name__}: {error}"
                    raise
                return invocation.result
            finally:
                self._principals.pop()
                os.environ.clear()
                os.environ.update(saved)
                wiring.reset()

    def _handler(self, logical: str) -> Any:
        if logical not in self._handlers:
            source = self._sources[logical]["Properties"]
            folder = source["CodeUri"].strip("/").rsplit("/", 1)[-1]
            module, function = source["Handler"].split(".")
            assert module == "app"
            self._handlers[logical] = getattr(load_handler(folder), function)
        return self._handlers[logical]

    def invoke_async(self, function_arn: str, event: Any) -> list[Invocation]:
        """Lambda's asynchronous invocation: retried as EventInvokeConfig says, then dead-lettered."""
        name = function_arn.rsplit(":", 1)[-1]
        logical = self.functions[name]
        retries = 2
        for config_logical, config in self.stack.resources_of("AWS::Lambda::EventInvokeConfig"):
            if self.stack.resolve(config["Properties"]["FunctionName"]) == name:
                retries = int(self.stack.resource(config_logical).get("MaximumRetryAttempts", 2))
        attempts: list[Invocation] = []
        for attempt in range(1, retries + 2):
            before = len(self.invocations)
            try:
                self.run(name, event)
            except Crash:
                pass
            except Exception:
                pass
            # This attempt's invocation: the first of this function since it began (an execution
            # it started may have invoked another function, a stage gate, right after it).
            ran = next(i for i in self.invocations[before:] if i.function == logical)
            attempts.append(ran)
            ran.attempt = attempt
            if not ran.error:
                return attempts
        configuration = self.admin("lambda").get_function_configuration(FunctionName=name)
        # From the template: moto's GetFunctionConfiguration leaves DeadLetterConfig out.
        target = (self.stack.resource(logical).get("DeadLetterConfig") or {}).get("TargetArn")
        if target:
            queue = self.admin("sqs").get_queue_url(QueueName=target.rsplit(":", 1)[-1])["QueueUrl"]
            # Lambda sends with the function's own role
            self.principal_client(configuration["Role"].rsplit("/", 1)[-1], "sqs").send_message(
                QueueUrl=queue,
                MessageBody=json.dumps(event),
                MessageAttributes={"ErrorMessage": {"DataType": "String", "StringValue": attempts[-1].error[:256]}},
            )
            self.dead_letters.append({"function": logical, "event": event, "error": attempts[-1].error})
        return attempts

    def invoke_sync_from_state_machine(self, function: str, body: bytes, response_headers: dict[str, str]) -> bytes:
        """What a pipeline's lambda:invoke task does, after its role is checked."""
        event = json.loads(body)
        role = self.stack.ref("LambdaDeployStateMachineRole" if "step" in event else "PipelineExecutionRole")
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
        decision = self.edge.decide(role, Request("lambda:InvokeFunction", arn))
        if decision != "allowed":
            self.edge.ledger.denials.append(f"{role} may not lambda:InvokeFunction on {arn} ({decision})")
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {"errorType": "AccessDeniedException", "errorMessage": f"{role} may not invoke {arn}"}
            ).encode()
        try:
            result = self.run(function, event)
        except (Exception, Crash) as error:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode()
        return json.dumps(result).encode()

    # --- events and schedules -----------------------------------------------------------------------

    def deliver(self, event: dict[str, Any]) -> list[Invocation]:
        """EventBridge: every rule whose pattern matches invokes its targets. The match is moto's
        own EventPattern (its TestEventPattern API is an empty stub in moto 5.2.5)."""
        from moto.events.models import events_backends

        events = self.admin("events")
        bus = events_backends[ACCOUNT][REGION].event_buses["default"]
        done: list[Invocation] = []
        for rule in events.list_rules()["Rules"]:
            if not rule.get("EventPattern") or rule.get("State") != "ENABLED":
                continue
            if not bus.rules[rule["Name"]].event_pattern.matches_event(event):
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
                self._may_invoke(target["Arn"], rule["Arn"])
                done += self.invoke_async(target["Arn"], event)
        return done

    def _may_invoke(self, function_arn: str, rule_arn: str) -> None:
        policy = json.loads(self.admin("lambda").get_policy(FunctionName=function_arn)["Policy"])
        statements = [
            {**s, "Principal": "*"}
            for s in policy["Statement"]
            if s.get("Principal", {}).get("Service") == "events.amazonaws.com"
        ]
        request = Request("lambda:InvokeFunction", function_arn, {"AWS:SourceArn": rule_arn, "aws:SourceArn": rule_arn})
        assert evaluate([{"Statement": statements}], request) == "allowed", f"{rule_arn} may not invoke {function_arn}"

    def tick(self, after_seconds: float = 0.0) -> list[Invocation]:
        """Every schedule fires once, ``after_seconds`` from now (the functions see that time)."""
        scheduler = self.admin("scheduler")
        self.clock_offset = after_seconds
        done: list[Invocation] = []
        try:
            for listed in scheduler.list_schedules()["Schedules"]:
                schedule = scheduler.get_schedule(Name=listed["Name"])
                target = schedule["Target"]
                role = target["RoleArn"].rsplit("/", 1)[-1]
                trust = json.dumps(self.admin("iam").get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])
                assert "scheduler.amazonaws.com" in trust, f"the scheduler cannot assume {role}"
                decision = self.edge.decide(role, Request("lambda:InvokeFunction", target["Arn"]))
                assert decision == "allowed", f"{role} may not invoke {target['Arn']}: {decision}"
                done += self.invoke_async(target["Arn"], json.loads(target.get("Input") or "{}"))
        finally:
            self.clock_offset = 0.0
        return done

    def outcomes(self, logical: str) -> list[Any]:
        return [i.result for i in self.invocations if i.function == logical and not i.error]


def _lower_first(value: Any) -> Any:
    """CloudFormation's PascalCase state machine properties as the API's camelCase."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _lower_first(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lower_first(item) for item in value]
    return value


def _logical_role(physical: str) -> str:
    """stepline-CallbacksFunctionRole-CALL1A2B3C4D → CallbacksFunctionRole (for faults and the ledger)."""
    parts = physical.split("-")
    return parts[1] if len(parts) >= 3 else physical


def admin_clients() -> Callable[[str], Any]:
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = boto3.client(service, region_name=REGION)
        return cache[service]

    return client


def whole_stack(parameters: dict[str, Any]) -> MotoStack:
    """The stack created in moto (call inside mock_aws)."""
    admin = admin_clients()
    edge = Edge(admin)
    stack = Stack(transformed(), parameters=parameters)
    created = MotoStack(stack, admin, edge)
    created.create()
    return created
