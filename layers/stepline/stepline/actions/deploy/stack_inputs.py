"""What a CloudFormation action reads from its input artifacts: the template (``TemplatePath``),
the template configuration file (``TemplateConfiguration``: Parameters, Tags, StackPolicy) and
``ParameterOverrides``, whose values may be ``Fn::GetArtifactAtt`` (an input artifact's
BucketName, ObjectKey or URL) or ``Fn::GetParam`` (a value from a JSON file in an input
artifact), as CodePipeline resolves them. Overrides win over the configuration file."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from stepline.actions.artifacts import InputFiles, input_files
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest
from stepline.definition.deploy_providers import artifact_path, override_problem
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.aws_deploys import Buckets

# CloudFormation's limit on a template sent in the request (TemplateBody).
MAX_TEMPLATE_BODY_BYTES = 51_200
# CloudFormation's limit on a template it reads from S3 (TemplateURL).
MAX_TEMPLATE_BYTES = 1_000_000
MAX_CONFIGURATION_BYTES = 1024 * 1024


@dataclass(frozen=True)
class StackInputs:
    """The template and what goes with it, ready for CreateStack/UpdateStack/CreateChangeSet."""

    template: str | None = None
    template_url: str | None = None  # where a template too large for the request was put
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    stack_policy: str | None = None


def stack_inputs(
    request: ActionRequest, store: ArtifactStore, configuration: dict[str, str], label: str
) -> StackInputs:
    """Read the template, the configuration file and the overrides the action names."""
    with input_files(request, store, label) as artifacts:
        template = None
        if configuration.get("TemplatePath"):
            template = _read_template(artifacts, configuration["TemplatePath"])
        parameters: dict[str, str] = {}
        tags: dict[str, str] = {}
        policy = None
        if configuration.get("TemplateConfiguration"):
            parameters, tags, policy = _read_configuration(artifacts, configuration["TemplateConfiguration"])
        if configuration.get("ParameterOverrides"):
            parameters.update(_overrides(request, artifacts, configuration["ParameterOverrides"]))
    return StackInputs(template=template, parameters=parameters, tags=tags, stack_policy=policy)


def _split(artifacts: InputFiles, value: str, key: str) -> Path:
    split = artifact_path(value)
    if split is None:
        raise ConfigurationError(f"{artifacts.label}: {key} {value!r} is not ArtifactName::path/to/file")
    return artifacts.path(split[0], split[1], key)


def _read_template(artifacts: InputFiles, value: str) -> str:
    path = _split(artifacts, value, "TemplatePath")
    size = path.stat().st_size
    if size > MAX_TEMPLATE_BYTES:
        raise ArtifactError(
            f"{artifacts.label}: TemplatePath {value} is {size} bytes; CloudFormation takes at most "
            f"{MAX_TEMPLATE_BYTES} (split it into nested stacks)"
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ArtifactError(f"{artifacts.label}: TemplatePath {value} is not UTF-8 text") from None


def _json_file(artifacts: InputFiles, path: Path, what: str) -> Any:
    if path.stat().st_size > MAX_CONFIGURATION_BYTES:
        raise ArtifactError(f"{artifacts.label}: {what} is larger than {MAX_CONFIGURATION_BYTES // 1024} KB")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ArtifactError(
            f"{artifacts.label}: {what} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except UnicodeDecodeError:
        raise ArtifactError(f"{artifacts.label}: {what} is not UTF-8 text") from None


def _string_map(artifacts: InputFiles, value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str | int | float | bool) for v in value.values()):
        raise ArtifactError(f"{artifacts.label}: {what} must be an object of name → string")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _read_configuration(artifacts: InputFiles, value: str) -> tuple[dict[str, str], dict[str, str], str | None]:
    """CodePipeline's template configuration file: {"Parameters", "Tags", "StackPolicy"}."""
    loaded = _json_file(artifacts, _split(artifacts, value, "TemplateConfiguration"), f"TemplateConfiguration {value}")
    if not isinstance(loaded, dict):
        raise ArtifactError(f"{artifacts.label}: TemplateConfiguration {value} must be a JSON object")
    unknown = sorted(set(loaded) - {"Parameters", "Tags", "StackPolicy"})
    if unknown:
        raise ArtifactError(
            f"{artifacts.label}: TemplateConfiguration {value} has {', '.join(unknown)}; "
            "it takes Parameters, Tags and StackPolicy"
        )
    parameters = _string_map(artifacts, loaded.get("Parameters"), f"TemplateConfiguration {value} Parameters")
    tags = _string_map(artifacts, loaded.get("Tags"), f"TemplateConfiguration {value} Tags")
    policy = loaded.get("StackPolicy")
    return parameters, tags, json.dumps(policy) if policy is not None else None


def _overrides(request: ActionRequest, artifacts: InputFiles, text: str) -> dict[str, str]:
    label = artifacts.label
    try:
        overrides = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{label}: ParameterOverrides is not valid JSON ({error.msg})") from None
    if not isinstance(overrides, dict):
        raise ConfigurationError(f"{label}: ParameterOverrides must be a JSON object of parameter name → value")
    resolved: dict[str, str] = {}
    for name, value in overrides.items():
        problem = override_problem(name, value, artifacts.inputs)
        if problem:
            raise ConfigurationError(f"{label}: ParameterOverrides {problem}")
        if isinstance(value, str):
            resolved[name] = value
        elif "Fn::GetArtifactAtt" in value:
            artifact, attribute = value["Fn::GetArtifactAtt"]
            resolved[name] = artifact_attribute(request.artifacts.get(artifact), artifact, attribute, label)
        else:
            artifact, file_name, key = value["Fn::GetParam"]
            resolved[name] = _get_param(artifacts, artifact, file_name, key, name)
    return resolved


def artifact_attribute(reference: dict[str, str] | None, artifact: str, attribute: str, label: str) -> str:
    """Fn::GetArtifactAtt: where the artifact's zip is. In S3: its bucket, key and HTTPS URL;
    on one machine (a file:// reference) the bucket is empty and the key is the file's path."""
    if reference is None:
        raise ArtifactError(f"{label}: input artifact {artifact!r} was not produced in this execution")
    location = urlparse(reference.get("location", ""))
    if location.scheme == "s3":
        bucket, key = location.netloc, location.path.lstrip("/")
        url = f"https://{bucket}.s3.amazonaws.com/{quote(key)}"
    else:
        bucket, key, url = "", location.path, reference.get("location", "")
    return {"BucketName": bucket, "ObjectKey": key, "URL": url}[attribute]


def _get_param(artifacts: InputFiles, artifact: str, file_name: str, key: str, name: str) -> str:
    """Fn::GetParam: the value of ``key`` in the JSON object ``file_name`` of ``artifact``."""
    what = f"ParameterOverrides {name}: Fn::GetParam {artifact}::{file_name}"
    loaded = _json_file(artifacts, artifacts.path(artifact, file_name, "ParameterOverrides"), what)
    if not isinstance(loaded, dict) or key not in loaded:
        keys = ", ".join(sorted(loaded)[:10]) if isinstance(loaded, dict) else "it is not a JSON object"
        raise ArtifactError(f"{artifacts.label}: {what} has no key {key!r} (it has: {keys})")
    value = loaded[key]
    if isinstance(value, dict | list) or value is None:
        raise ArtifactError(f"{artifacts.label}: {what} key {key!r} is not a string or number")
    return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True)
class TemplateUploads:
    """Where templates too large for a request (over 51,200 bytes) go: the artifact bucket, whence
    CloudFormation reads them by TemplateURL, as the AWS CLI's ``deploy --s3-bucket`` does."""

    buckets: Buckets
    bucket: str
    region: str

    def url(self, key: str, template: str) -> str:
        with tempfile.TemporaryDirectory(prefix="stepline-template-") as scratch:
            file = Path(scratch) / "template"
            file.write_text(template, encoding="utf-8")
            self.buckets.put_file(self.bucket, key, file, {"ContentType": "text/plain"})
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com/{quote(key)}"


def with_template_url(inputs: StackInputs, uploads: TemplateUploads | None, key: str, label: str) -> StackInputs:
    """The inputs, their template put in S3 when it is too large to send in the request."""
    size = len((inputs.template or "").encode())
    if size <= MAX_TEMPLATE_BODY_BYTES:
        return inputs
    if uploads is None:
        raise ArtifactError(
            f"{label}: the template is {size} bytes; CloudFormation takes at most {MAX_TEMPLATE_BODY_BYTES} in a "
            "request, and larger ones from S3, which an artifact store on this machine is not"
        )
    return replace(inputs, template=None, template_url=uploads.url(key, inputs.template or ""))
