"""Deploy/AWS/CloudFormationStackSet and CloudFormationStackInstances, as CodePipeline runs them.

CloudFormationStackSet: a stack set that does not exist is created (CreateStackSet) and its
instances made in ``DeploymentTargets`` × ``Regions`` (CreateStackInstances); one that exists is
updated with the template and parameters, the update reaching those targets (UpdateStackSet).
CloudFormationStackInstances: instances missing among the targets are created (with
``ParameterOverrides``); when none is missing, the targets' instances are updated with them
(UpdateStackInstances). A run that finds both new and outdated instances creates the new ones;
the outdated ones are updated by the next run (CodePipeline does both in one).

``DeploymentTargets`` is comma-separated account ids (SELF_MANAGED) or organizational unit ids
(SERVICE_MANAGED), or ``Artifact::file.json`` holding such a JSON list. ``Parameters`` and
``ParameterOverrides`` are a JSON list of {ParameterKey, ParameterValue, UsePreviousValue},
CloudFormation's shorthand (``ParameterKey=K,ParameterValue=V ParameterKey=…``), or
``Artifact::file.json`` holding the JSON list. The operation is waited for like a stack's
(kind ``cfn``, operation ``stackset``): the sweeper's DescribeStackSetOperation answers it;
a failure names the first account and Region that failed, and why.
"""

from __future__ import annotations

import json
import re
from typing import Any

from stepline.actions.artifacts import InputFiles, input_files
from stepline.actions.request import ActionRequest
from stepline.definition.deploy_providers import artifact_path
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.aws_deploys import Stacks

# CloudFormation's limit on a template sent in the request; configuration files are smaller still.
MAX_FILE_BYTES = 51_200
_SHORTHAND = re.compile(r"(\w+)=([^,\s]*)")
_OU = re.compile(r"^ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$|^r-[a-z0-9]{4,32}$")


def start_stack_set_operation(
    request: ActionRequest, store: ArtifactStore, stacks: Stacks, configuration: dict[str, str], label: str
) -> dict[str, str]:
    """Start the operation the provider names; the work the waiter waits for."""
    with input_files(request, store, label) as files:
        return _start(request, _Reader(files), stacks, configuration, label)


def _start(
    request: ActionRequest, reader: _Reader, stacks: Stacks, configuration: dict[str, str], label: str
) -> dict[str, str]:
    name = configuration["StackSetName"]
    targets = _targets(reader.value(configuration.get("DeploymentTargets", "")), label)
    regions = [r.strip() for r in configuration.get("Regions", "").split(",") if r.strip()]
    preferences = _preferences(configuration)
    if request.action.action_type_id.provider == "CloudFormationStackInstances":
        return _instances(stacks, reader, configuration, name, targets, regions, preferences, label)
    template = reader.file_text(configuration["TemplatePath"], "TemplatePath")
    shared: dict[str, Any] = {"StackSetName": name, "TemplateBody": template}
    if configuration.get("Parameters"):
        shared["Parameters"] = _parameters(reader.value(configuration["Parameters"]), "Parameters", label)
    capabilities = [c.strip() for c in configuration.get("Capabilities", "").split(",") if c.strip()]
    if capabilities:
        shared["Capabilities"] = capabilities
    for key, field in (("Description", "Description"), ("AdministrationRoleArn", "AdministrationRoleARN")):
        if configuration.get(key):
            shared[field] = configuration[key]
    if configuration.get("ExecutionRoleName"):
        shared["ExecutionRoleName"] = configuration["ExecutionRoleName"]
    if stacks.describe_stack_set(name) is None:
        model = configuration.get("PermissionModel") or "SELF_MANAGED"
        created: dict[str, Any] = {**shared, "PermissionModel": model}
        if model == "SERVICE_MANAGED":
            auto = configuration.get("OrganizationsAutoDeployment", "Disabled")
            created["AutoDeployment"] = {
                "Enabled": auto != "Disabled",
                "RetainStacksOnAccountRemoval": auto == "EnabledWithStackRetention",
            }
        stacks.stack_set_call("CreateStackSet", created)
        if not targets or not regions:
            return {"operation": "none", "stack": name, "mode": "STACK_SET"}
        operation = stacks.stack_set_call(
            "CreateStackInstances", {"StackSetName": name, **_where(targets, regions), **preferences}
        )
        return {"operation": "stackset", "stack": name, "stackSetOperation": operation, "mode": "STACK_SET"}
    where = _where(targets, regions) if targets and regions else {}
    operation = stacks.stack_set_call("UpdateStackSet", {**shared, **where, **preferences})
    return {"operation": "stackset", "stack": name, "stackSetOperation": operation, "mode": "STACK_SET"}


def _instances(
    stacks: Stacks,
    reader: _Reader,
    configuration: dict[str, str],
    name: str,
    targets: list[str],
    regions: list[str],
    preferences: dict[str, Any],
    label: str,
) -> dict[str, str]:
    if stacks.describe_stack_set(name) is None:
        raise ConfigurationError(
            f"{label}: stack set {name!r} does not exist (a CloudFormationStackSet action makes it)"
        )
    overrides: dict[str, Any] = {}
    if configuration.get("ParameterOverrides"):
        overrides["ParameterOverrides"] = _parameters(
            reader.value(configuration["ParameterOverrides"]), "ParameterOverrides", label
        )
    present = {(str(i.get("Account")), str(i.get("Region"))) for i in stacks.stack_instances(name)}
    accounts = [t for t in targets if not _OU.match(t)]
    missing = [(a, r) for a in accounts for r in regions if (a, r) not in present]
    if missing or not accounts:  # organizational units: CloudFormation works out the accounts
        call = "CreateStackInstances"
        where = _where(sorted({a for a, _ in missing}), sorted({r for _, r in missing})) if missing else None
    else:
        call, where = "UpdateStackInstances", None
    parameters = {"StackSetName": name, **(where or _where(targets, regions)), **overrides, **preferences}
    operation = stacks.stack_set_call(call, parameters)
    return {"operation": "stackset", "stack": name, "stackSetOperation": operation, "mode": "STACK_INSTANCES"}


def _where(targets: list[str], regions: list[str]) -> dict[str, Any]:
    if targets and all(_OU.match(t) for t in targets):
        return {"DeploymentTargets": {"OrganizationalUnitIds": targets}, "Regions": regions}
    return {"Accounts": targets, "Regions": regions}


def _preferences(configuration: dict[str, str]) -> dict[str, Any]:
    preferences = {
        key: int(configuration[key])
        for key in ("FailureTolerancePercentage", "MaxConcurrentPercentage")
        if configuration.get(key, "").isdigit()
    }
    return {"OperationPreferences": preferences} if preferences else {}


def _targets(value: str, label: str) -> list[str]:
    text = value.strip()
    if text.startswith("["):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"{label}: DeploymentTargets is not valid JSON ({error.msg})") from None
        if not isinstance(loaded, list) or not all(isinstance(t, str) for t in loaded):
            raise ConfigurationError(f"{label}: DeploymentTargets must be a JSON list of account or OU ids")
        return loaded
    return [t.strip() for t in text.split(",") if t.strip()]


def _parameters(value: str, key: str, label: str) -> list[dict[str, Any]]:
    text = value.strip()
    if text.startswith("["):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"{label}: {key} is not valid JSON ({error.msg})") from None
        if not isinstance(loaded, list) or not all(isinstance(p, dict) and "ParameterKey" in p for p in loaded):
            raise ConfigurationError(f"{label}: {key} must be a JSON list of {{ParameterKey, ParameterValue}}")
        return [
            {k: v for k, v in p.items() if k in {"ParameterKey", "ParameterValue", "UsePreviousValue"}} for p in loaded
        ]
    parameters = []
    for entry in text.split():
        fields = dict(_SHORTHAND.findall(entry))
        if "ParameterKey" not in fields:
            raise ConfigurationError(f"{label}: {key} entry {entry!r} is not ParameterKey=…,ParameterValue=…")
        parameter: dict[str, Any] = {"ParameterKey": fields["ParameterKey"]}
        if "ParameterValue" in fields:
            parameter["ParameterValue"] = fields["ParameterValue"]
        if fields.get("UsePreviousValue", "").lower() == "true":
            parameter["UsePreviousValue"] = True
        parameters.append(parameter)
    return parameters


class _Reader:
    """Configuration values that may name a file in an input artifact (``Artifact::path``)."""

    def __init__(self, files: InputFiles) -> None:
        self.files = files

    def value(self, value: str) -> str:
        split = artifact_path(value)
        if split is None or split[0] not in self.files.inputs:
            return value
        return self.file_text(value, "a file")

    def file_text(self, value: str, key: str) -> str:
        split = artifact_path(value)
        if split is None:
            raise ConfigurationError(f"{self.files.label}: {key} {value!r} is not InputArtifact::path/to/file")
        return self.files.text(split[0], split[1], key, MAX_FILE_BYTES)


def stack_set_ended(stacks: Stacks, name: str, operation_id: str) -> tuple[bool, str] | None:
    """(succeeded, why) once the operation ended; None while it runs."""
    operation = stacks.stack_set_operation(name, operation_id)
    status = str(operation.get("Status", ""))
    if status == "SUCCEEDED":
        return True, ""
    if status not in {"FAILED", "STOPPED"}:
        return None  # RUNNING, QUEUED, STOPPING
    failures = stacks.stack_set_failures(name, operation_id)
    first = failures[0] if failures else {}
    where = f"{first.get('Account')}/{first.get('Region')}: {first.get('StatusReason') or first.get('Status')}"
    reason = where if first else str(operation.get("StatusReason") or "no reason given")
    return False, f"stack set {name} operation {operation_id} {status}: {reason}"
