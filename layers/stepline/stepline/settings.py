"""Configuration, typed per runtime and read once: from the environment when a process starts
(template.yaml sets it for every Lambda function), or given by the local runtime to the
handlers it runs in-process (`stepline run`, `stepline serve`), never written back into
``os.environ``.

Every default is written once, on the model's field; ``VARIABLES`` says which environment
variable sets each field. A required value that is missing (or empty) fails when the settings
are read, naming the variable, not later when a port first needs it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from stepline.errors import ConfigurationError

DEFAULT_API_URL = "http://127.0.0.1:8080"


class _Common(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str = "us-east-1"
    github_token_secret: str = "stepline/github-token"  # noqa: S105 - the secret's name, not its value
    github_api_url: str = "https://api.github.com"  # GitHub Enterprise Server: https://HOST/api/v3
    # Commit statuses on GitLab and Bitbucket (--report-status): each forge's API and token.
    gitlab_api_url: str = "https://gitlab.com/api/v4"
    gitlab_token_secret: str = "stepline/gitlab-token"  # noqa: S105 - the secret's name, not its value
    bitbucket_api_url: str = "https://api.bitbucket.org/2.0"
    bitbucket_token_secret: str = "stepline/bitbucket-token"  # noqa: S105
    # Approvals and the HTTP API: where links point, which secrets sign and authenticate.
    api_url: str = DEFAULT_API_URL
    link_key_secret: str = "stepline/approval-link-key"  # noqa: S105 - names, not values
    webhook_secret: str = "stepline/github-webhook-secret"  # noqa: S105
    gitlab_webhook_secret: str = "stepline/gitlab-webhook-secret"  # noqa: S105
    bitbucket_webhook_secret: str = "stepline/bitbucket-webhook-secret"  # noqa: S105
    api_token_secret: str = "stepline/api-token"  # noqa: S105
    # The sweeper polls the work of waiters older than this.
    sweep_after_seconds: int = Field(default=300, gt=0)


class AwsSettings(_Common):
    """A Lambda function's configuration. The bucket and the task tokens table are set for every
    function (template.yaml's Globals); the tables below only for the functions that use them,
    and a function asking for one it was not given is told which variable is missing."""

    runtime: Literal["aws"] = "aws"
    artifact_bucket: str = Field(min_length=1)
    task_tokens_table: str = Field(min_length=1)
    artifact_kms_key_id: str | None = None
    commands_project: str | None = None
    approvals_table: str | None = None
    pipelines_table: str | None = None
    notification_topic: str | None = None
    jobs_table: str | None = None  # custom action types and their jobs (the API and jobs functions)
    job_artifacts_role_arn: str | None = None  # assumed, narrowed to one job's artifacts, for its worker


class LocalSettings(_Common):
    """One machine: where state, artifacts, workspaces and logs live, and what stands in for
    the services a pipeline names (mapped repositories, the user's functions and state machines)."""

    runtime: Literal["local"] = "local"
    data: Path = Path(".stepline")
    base: Path = Path()
    # CodeCommit, connection and GitHub repositories mapped to local ones: name → path or URL.
    sources: dict[str, str] = Field(default_factory=dict)
    # The user's Lambda functions as Python callables: name → module:callable.
    functions: dict[str, str] = Field(default_factory=dict)
    # The user's state machines (what Invoke/AWS/StepFunctions starts): name → ASL file.
    state_machines: dict[str, str] = Field(default_factory=dict)
    notify_url: str | None = None
    # Run control's events (CodePipeline's EventBridge shape) POSTed to these subscribers.
    event_webhooks: list[Annotated[str, StringConstraints(pattern=r"^https?://")]] = Field(default_factory=list)
    # Where builds put releases ($STEPLINE_RELEASES in a build); default: <data>/releases.
    releases: Path | None = None
    # Where template.yaml, functions/ and statemachines/ are; default: this package's checkout.
    home: Path | None = None
    # Where the providers that act on an AWS account send their calls instead (an emulator).
    aws_endpoint_url: str | None = None

    @property
    def release_folder(self) -> Path:
        return self.releases or self.data / "releases"


Settings = AwsSettings | LocalSettings

# Field → the environment variables that set it, in order of precedence.
VARIABLES: dict[str, tuple[str, ...]] = {
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "github_token_secret": ("GITHUB_TOKEN_SECRET",),
    "github_api_url": ("GITHUB_API_URL",),
    "gitlab_api_url": ("GITLAB_API_URL",),
    "gitlab_token_secret": ("GITLAB_TOKEN_SECRET",),
    "bitbucket_api_url": ("BITBUCKET_API_URL",),
    "bitbucket_token_secret": ("BITBUCKET_TOKEN_SECRET",),
    "api_url": ("STEPLINE_API_URL",),
    "link_key_secret": ("LINK_KEY_SECRET",),
    "webhook_secret": ("GITHUB_WEBHOOK_SECRET",),
    "gitlab_webhook_secret": ("GITLAB_WEBHOOK_SECRET",),
    "bitbucket_webhook_secret": ("BITBUCKET_WEBHOOK_SECRET",),
    "api_token_secret": ("API_TOKEN_SECRET",),
    "sweep_after_seconds": ("SWEEP_AFTER_SECONDS",),
    "artifact_bucket": ("ARTIFACT_BUCKET",),
    "task_tokens_table": ("TASK_TOKENS_TABLE",),
    "artifact_kms_key_id": ("ARTIFACT_KMS_KEY_ID",),
    "commands_project": ("COMMANDS_PROJECT",),
    "approvals_table": ("APPROVALS_TABLE",),
    "pipelines_table": ("PIPELINES_TABLE",),
    "notification_topic": ("NOTIFICATION_TOPIC_ARN",),
    "jobs_table": ("JOBS_TABLE",),
    "job_artifacts_role_arn": ("JOB_ARTIFACTS_ROLE_ARN",),
    "data": ("STEPLINE_DATA",),
    "base": ("STEPLINE_BASE",),
    "sources": ("STEPLINE_SOURCES",),
    "functions": ("STEPLINE_FUNCTIONS",),
    "state_machines": ("STEPLINE_STATE_MACHINES",),
    "notify_url": ("STEPLINE_NOTIFY_URL",),
    "event_webhooks": ("STEPLINE_EVENT_WEBHOOKS",),
    "releases": ("STEPLINE_RELEASES",),
    "home": ("STEPLINE_HOME",),
    "aws_endpoint_url": ("STEPLINE_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL"),
}
_MODELS: dict[str, type[AwsSettings] | type[LocalSettings]] = {"aws": AwsSettings, "local": LocalSettings}


def read_settings(environment: Mapping[str, str]) -> Settings:
    """The settings of the runtime ``STEPLINE_RUNTIME`` names (default: aws), from ``environment``;
    ConfigurationError naming the variable when one is missing or malformed."""
    runtime = environment.get("STEPLINE_RUNTIME") or "aws"
    model = _MODELS.get(runtime)
    if model is None:
        raise ConfigurationError(f"STEPLINE_RUNTIME {runtime!r}: must be aws or local")
    values: dict[str, object] = {}
    for name in model.model_fields:
        given = next((environment[v] for v in VARIABLES.get(name, ()) if environment.get(v)), None)
        if given is not None:
            values[name] = given
    if model is LocalSettings:
        values["sources"] = source_mapping(
            environment.get("STEPLINE_SOURCES", ""), environment.get("STEPLINE_SOURCES_FILE")
        )
        values["functions"] = _functions(environment.get("STEPLINE_FUNCTIONS", ""))
        values["state_machines"] = _state_machines(environment.get("STEPLINE_STATE_MACHINES", ""))
        hooks = environment.get("STEPLINE_EVENT_WEBHOOKS", "")
        values["event_webhooks"] = [url.strip() for url in hooks.split(",") if url.strip()]
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problem = error.errors()[0]
        variable = VARIABLES[str(problem["loc"][0])][0]
        if problem["type"] in {"missing", "string_too_short"}:
            raise ConfigurationError(
                f"{variable} is not set: the stack sets it for every function (template.yaml)"
            ) from None
        raise ConfigurationError(f"{variable}: {problem['msg']}") from None


_given: list[Settings] = []


@lru_cache(maxsize=1)
def _from_environment() -> Settings:
    return read_settings(os.environ)


def settings() -> Settings:
    """The settings in force: those the local runtime gave its handlers, else the environment's,
    read at the first call (a Lambda function's cold start) and kept."""
    return _given[-1] if _given else _from_environment()


def forget() -> None:
    """Read the environment again at the next call (tests change it)."""
    _from_environment.cache_clear()


def local_settings(data: Path, overrides: Mapping[str, str] | None = None) -> LocalSettings:
    """The local runtime's settings: this process's environment, the runtime's own overrides
    (``--source``, ``--function`` … as variables), and its data directory."""
    read = read_settings({**os.environ, **(overrides or {}), "STEPLINE_RUNTIME": "local", "STEPLINE_DATA": str(data)})
    assert isinstance(read, LocalSettings)
    return read


def give(given: Settings) -> None:
    """The local runtime gives its handlers their settings (until ``take_back``)."""
    _given.append(given)


def take_back(given: Settings) -> None:
    """Withdraw settings given by ``give``; others given since stay in force."""
    for index in range(len(_given) - 1, -1, -1):
        if _given[index] is given:
            del _given[index]
            return


def log_level() -> str:
    """How much Stepline logs: $STEPLINE_LOG_LEVEL (template.yaml: INFO), else WARNING. Read when
    the logger is built, before any settings, so that a settings error is logged too."""
    level = os.environ.get("STEPLINE_LOG_LEVEL", "").strip().upper() or "WARNING"
    return level if level in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"} else "WARNING"


def api_url_default() -> str:
    """Where the CLI reaches a Stepline API unless told (--url): $STEPLINE_API_URL, else loopback."""
    return os.environ.get("STEPLINE_API_URL", "").strip() or DEFAULT_API_URL


def source_mapping(text: str, file: str | None) -> dict[str, str]:
    """Local repositories for CodeCommit, connection and GitHub sources: a JSON file of
    name → path (STEPLINE_SOURCES_FILE), then NAME=PATH pairs (STEPLINE_SOURCES), which win."""
    mapping: dict[str, str] = {}
    if file:
        try:
            loaded = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigurationError(f"STEPLINE_SOURCES_FILE {file}: {error}") from None
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise ConfigurationError(f"STEPLINE_SOURCES_FILE {file}: must be a JSON object of name → path")
        mapping.update(loaded)
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ConfigurationError(f"STEPLINE_SOURCES {text!r}: write NAME=PATH pairs separated by commas")
    mapping.update({name.strip(): path.strip() for name, path in pairs})
    return mapping


def _state_machines(text: str) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(pair) != 2 or not pair[0].strip() or not pair[1].strip() for pair in pairs):
        raise ConfigurationError(f"STEPLINE_STATE_MACHINES {text!r}: write NAME=FILE pairs separated by commas")
    return {name.strip(): path.strip() for name, path in pairs}


def _functions(text: str) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(pair) != 2 or ":" not in pair[1] for pair in pairs):
        raise ConfigurationError(f"STEPLINE_FUNCTIONS {text!r}: write NAME=MODULE:CALLABLE pairs separated by commas")
    return {name.strip(): target.strip() for name, target in pairs}


def require(value: str | None, name: str) -> str:
    """A value only some functions are given; ConfigurationError naming its variable when absent."""
    if not value:
        raise ConfigurationError(f"{name} is not set: the stack sets it for the functions that use it (template.yaml)")
    return value
