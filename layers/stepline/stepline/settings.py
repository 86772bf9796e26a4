"""Configuration from the environment, validated once (template.yaml sets it on AWS)."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from stepline.errors import ConfigurationError


class Settings(BaseModel):
    runtime: Literal["aws", "local"] = "aws"
    region: str = "us-east-1"
    artifact_bucket: str = ""
    artifact_kms_key_id: str | None = None
    task_tokens_table: str = ""
    github_token_secret: str = "stepline/github-token"  # noqa: S105 - the secret's name, not its value
    commands_project: str | None = None
    # The sweeper polls the work of waiters older than this (template.yaml: SWEEP_AFTER_SECONDS).
    sweep_after_seconds: int = 300
    # Approvals and the HTTP API: where links point, where approvals live, which secrets sign.
    api_url: str = "http://127.0.0.1:8080"
    approvals_table: str = ""
    pipelines_table: str = ""
    notification_topic: str | None = None
    notify_url: str | None = None
    link_key_secret: str = "stepline/approval-link-key"  # noqa: S105 - names, not values
    webhook_secret: str = "stepline/github-webhook-secret"  # noqa: S105
    api_token_secret: str = "stepline/api-token"  # noqa: S105
    # Local runtime: where state, artifacts, workspaces and logs live, and mapped repositories.
    data: Path = Path(".stepline")
    base: Path = Path()
    sources: dict[str, str] = {}
    # Local runtime: the user's Lambda functions as Python callables, name → module:callable.
    functions: dict[str, str] = {}
    # Local runtime: the user's state machines (what Invoke/AWS/StepFunctions starts), name → ASL file.
    state_machines: dict[str, str] = {}

    @property
    def artifacts_dir(self) -> Path:
        return self.data / "artifacts"


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


@lru_cache(maxsize=1)
def settings() -> Settings:
    environment = os.environ
    try:
        return Settings(
            runtime=environment.get("STEPLINE_RUNTIME", "aws"),
            region=environment.get("AWS_REGION", environment.get("AWS_DEFAULT_REGION", "us-east-1")),
            artifact_bucket=environment.get("ARTIFACT_BUCKET", ""),
            artifact_kms_key_id=environment.get("ARTIFACT_KMS_KEY_ID") or None,
            task_tokens_table=environment.get("TASK_TOKENS_TABLE", ""),
            github_token_secret=environment.get("GITHUB_TOKEN_SECRET", "stepline/github-token"),
            commands_project=environment.get("COMMANDS_PROJECT") or None,
            sweep_after_seconds=environment.get("SWEEP_AFTER_SECONDS", "300"),
            api_url=environment.get("STEPLINE_API_URL", "http://127.0.0.1:8080"),
            approvals_table=environment.get("APPROVALS_TABLE", ""),
            pipelines_table=environment.get("PIPELINES_TABLE", ""),
            notification_topic=environment.get("NOTIFICATION_TOPIC_ARN") or None,
            notify_url=environment.get("STEPLINE_NOTIFY_URL") or None,
            link_key_secret=environment.get("LINK_KEY_SECRET", "stepline/approval-link-key"),
            webhook_secret=environment.get("GITHUB_WEBHOOK_SECRET", "stepline/github-webhook-secret"),
            api_token_secret=environment.get("API_TOKEN_SECRET", "stepline/api-token"),
            data=Path(environment.get("STEPLINE_DATA", ".stepline")),
            base=Path(environment.get("STEPLINE_BASE", ".")),
            sources=source_mapping(environment.get("STEPLINE_SOURCES", ""), environment.get("STEPLINE_SOURCES_FILE")),
            functions=_functions(environment.get("STEPLINE_FUNCTIONS", "")),
            state_machines=_state_machines(environment.get("STEPLINE_STATE_MACHINES", "")),
        )
    except ValidationError as error:
        problem = error.errors()[0]
        raise ConfigurationError(f"setting {problem['loc'][0]}: {problem['msg']}") from None


def require(value: str, name: str) -> str:
    if not value:
        raise ConfigurationError(f"{name} is not set: the stack sets it for every function (template.yaml)")
    return value
