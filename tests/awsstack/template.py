"""template.yaml as CloudFormation receives it, and as a deployed stack names its resources.

``transformed()`` runs SAM's own transform (samtranslator, offline: no AWS call) on the
template with local CodeUri/DefinitionUri paths swapped for the S3 locations ``sam package``
would give — so the roles, policies, rules, permissions and schedules tested are the ones SAM
generates, not a hand-written copy.

``Stack`` resolves intrinsic functions (Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::Join, Fn::Split,
Fn::Select, conditions) against parameter values and each resource's physical attributes, named
the way CloudFormation names them (``<stack>-<LogicalId>-<SUFFIX>``) unless a test overrides
an attribute with what a service returned.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Imported with the module, not in a test: urllib3 probes for IPv6 with a socket on import.
from samtranslator.translator.transform import transform

from stepline.local.template import load_template
from tests.helpers import REPO

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
NO_VALUE = object()  # AWS::NoValue: the property or list item is dropped
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


class _NoManagedPolicies:
    """SAM asks for AWS managed policies only for policies named by name; the template names none."""

    def load(self) -> dict[str, str]:
        return {}


@functools.cache
def _transformed_text() -> str:
    template = copy.deepcopy(load_template(REPO / "template.yaml"))
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            properties["CodeUri"] = f"s3://stepline-code/{name}.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = "s3://stepline-code/layer.zip"
        elif resource["Type"] == "AWS::Serverless::StateMachine":
            properties["Definition"] = json.loads((REPO / properties.pop("DefinitionUri")).read_text())
    region = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = REGION  # SAM's transform needs a Region, and calls nothing
    try:
        return json.dumps(transform(template, {}, _NoManagedPolicies()))
    finally:
        if region is None:
            os.environ.pop("AWS_DEFAULT_REGION")
        else:
            os.environ["AWS_DEFAULT_REGION"] = region


def transformed() -> dict[str, Any]:
    """The CloudFormation template SAM makes of template.yaml (a fresh copy each call)."""
    loaded: dict[str, Any] = json.loads(_transformed_text())
    return loaded


def physical_name(stack: str, logical: str, limit: int = 64) -> str:
    """CloudFormation's generated name: stack and logical id, cut to fit, and a suffix."""
    suffix = re.sub(r"[^A-Z0-9]", "", logical.upper())[:4].ljust(4, "X") + "1A2B3C4D"
    prefix = f"{stack}-{logical}"[: limit - len(suffix) - 1]
    return f"{prefix}-{suffix}"


@dataclass
class Stack:
    """A template's resources as a deployed stack of ``name`` names them."""

    template: dict[str, Any]
    name: str = "stepline"
    parameters: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for parameter, declared in self.template.get("Parameters", {}).items():
            if parameter in self.parameters:
                continue
            default = declared.get("Default", "")
            if declared.get("Type") == "CommaDelimitedList":
                default = [item.strip() for item in str(default).split(",")]
            self.parameters[parameter] = default
        for logical, resource in self.template["Resources"].items():
            self.attributes.setdefault(logical, {})
            for key, value in self._default_attributes(logical, resource).items():
                self.attributes[logical].setdefault(key, value)

    # --- names -------------------------------------------------------------------------

    def _default_attributes(self, logical: str, resource: Mapping[str, Any]) -> dict[str, Any]:
        kind = resource["Type"]
        properties = resource.get("Properties", {})
        arn = f"arn:{PARTITION}"
        if kind == "AWS::Lambda::Function":
            name = physical_name(self.name, logical)
            return {"Ref": name, "Arn": f"{arn}:lambda:{REGION}:{ACCOUNT}:function:{name}"}
        if kind == "AWS::IAM::Role":
            name = physical_name(self.name, logical)
            return {"Ref": name, "Arn": f"{arn}:iam::{ACCOUNT}:role/{name}", "RoleId": f"AROA{logical.upper()[:16]}"}
        if kind == "AWS::IAM::ManagedPolicy":
            return {"Ref": f"{arn}:iam::{ACCOUNT}:policy/{physical_name(self.name, logical, 128)}"}
        if kind == "AWS::S3::Bucket":
            name = physical_name(self.name, logical).lower()
            return {"Ref": name, "Arn": f"{arn}:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}
        if kind == "AWS::DynamoDB::Table":
            name = physical_name(self.name, logical, 255)
            return {"Ref": name, "Arn": f"{arn}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"}
        if kind == "AWS::SNS::Topic":
            name = physical_name(self.name, logical, 256)
            return {"Ref": f"{arn}:sns:{REGION}:{ACCOUNT}:{name}", "TopicName": name}
        if kind == "AWS::SQS::Queue":
            name = physical_name(self.name, logical, 80)
            return {
                "Ref": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
                "Arn": f"{arn}:sqs:{REGION}:{ACCOUNT}:{name}",
                "QueueName": name,
            }
        if kind == "AWS::SecretsManager::Secret":
            name = physical_name(self.name, logical, 256)
            return {"Ref": f"{arn}:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"}
        if kind == "AWS::StepFunctions::StateMachine":
            name = physical_name(self.name, logical, 80)
            return {"Ref": f"{arn}:states:{REGION}:{ACCOUNT}:stateMachine:{name}", "Name": name}
        if kind == "AWS::CodeBuild::Project":
            name = str(self._value(properties["Name"])) if "Name" in properties else physical_name(self.name, logical)
            return {"Ref": name, "Arn": f"{arn}:codebuild:{REGION}:{ACCOUNT}:project/{name}"}
        if kind == "AWS::Logs::LogGroup":
            name = str(self._value(properties["LogGroupName"]))
            return {"Ref": name, "Arn": f"{arn}:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"}
        if kind == "AWS::Events::Rule":
            name = physical_name(self.name, logical)
            return {"Ref": name, "Arn": f"{arn}:events:{REGION}:{ACCOUNT}:rule/{name}"}
        if kind == "AWS::Scheduler::Schedule":
            name = str(self._value(properties.get("Name", logical)))
            return {"Ref": name, "Arn": f"{arn}:scheduler:{REGION}:{ACCOUNT}:schedule/default/{name}"}
        if kind == "AWS::Lambda::LayerVersion":
            return {"Ref": f"{arn}:lambda:{REGION}:{ACCOUNT}:layer:{properties.get('LayerName', logical)}:1"}
        if kind == "AWS::ApiGateway::RestApi":
            return {"Ref": "a1b2c3d4e5", "RootResourceId": "r00t1d"}
        return {"Ref": physical_name(self.name, logical)}

    # --- resolution --------------------------------------------------------------------

    def condition(self, name: str) -> bool:
        return bool(self._value(self.template.get("Conditions", {})[name]))

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated (AWS::NoValue items dropped)."""
        resolved = self._value(value)
        return None if resolved is NO_VALUE else resolved

    def resource(self, logical: str) -> dict[str, Any]:
        """A resource's Properties, resolved."""
        resolved: dict[str, Any] = self.resolve(self.template["Resources"][logical].get("Properties", {}))
        return resolved

    def ref(self, logical: str) -> str:
        return str(self.attributes[logical]["Ref"])

    def get_att(self, logical: str, attribute: str) -> Any:
        found = self.attributes[logical]
        if attribute not in found:
            raise KeyError(f"{logical} has no attribute {attribute} the tests know of (known: {sorted(found)})")
        return found[attribute]

    def outputs(self) -> dict[str, str]:
        return {name: str(self.resolve(output["Value"])) for name, output in self.template.get("Outputs", {}).items()}

    def resources_of(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical, resource in self.template["Resources"].items():
            if resource["Type"] == kind and self._included(resource):
                yield logical, resource

    def _included(self, resource: Mapping[str, Any]) -> bool:
        return "Condition" not in resource or self.condition(resource["Condition"])

    def _value(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._value(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, argument)] = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Fn::GetAtt":
                logical, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(logical, attribute)
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::If":
                name, then, otherwise = argument
                return self._value(then if self.condition(name) else otherwise)
            if key == "Fn::Join":
                delimiter, items = argument
                return delimiter.join(str(item) for item in self._value(items))
            if key == "Fn::Split":
                delimiter, text = argument
                return str(self._value(text)).split(delimiter)
            if key == "Fn::Select":
                index, items = argument
                return self._value(items)[int(self._value(index))]
            if key == "Fn::Equals":
                left, right = self._value(argument[0]), self._value(argument[1])
                return left == right
            if key == "Fn::Not":
                return not self._value(argument[0])
            if key == "Fn::And":
                return all(self._value(item) for item in argument)
            if key == "Fn::Or":
                return any(self._value(item) for item in argument)
            if key == "Condition":
                return self.condition(argument)
            if key.startswith("Fn::"):
                raise NotImplementedError(f"the tests' resolver does not know {key}")
        return {k: v for k, v in ((k, self._value(v)) for k, v in value.items()) if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.ref(name)

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {key: self._value(value) for key, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match[1]
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return str(self.get_att(logical, attribute))
            resolved = self._ref(name)
            return ",".join(resolved) if isinstance(resolved, list) else str(resolved)

        return _SUB.sub(replace, text).replace("${!", "${")


def references(value: Any) -> set[str]:
    """The logical ids and parameters a value refers to (Ref, GetAtt, ${...} in Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref":
                found.add(argument)
            elif key == "Fn::GetAtt":
                found.add(argument[0] if isinstance(argument, list) else argument.split(".")[0])
            elif key == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                local = set() if isinstance(argument, str) else set(argument[1])
                found |= {m.split(".")[0] for m in _SUB.findall(text) if m.split(".")[0] not in local}
                if not isinstance(argument, str):
                    found |= references(argument[1])
            else:
                found |= references(argument)
    return found


def creation_order(template: Mapping[str, Any]) -> list[str]:
    """Logical ids, each after everything it refers to or DependsOn (CloudFormation's order)."""
    resources = template["Resources"]
    order: list[str] = []
    visiting: set[str] = set()

    def visit(logical: str) -> None:
        if logical in order:
            return
        if logical in visiting:
            raise ValueError(f"circular reference through {logical}")
        visiting.add(logical)
        resource = resources[logical]
        depends = resource.get("DependsOn", [])
        needed = references(resource.get("Properties", {})) | set([depends] if isinstance(depends, str) else depends)
        for other in sorted(needed & resources.keys()):
            visit(other)
        visiting.discard(logical)
        order.append(logical)

    for logical in resources:
        visit(logical)
    return order
