"""CreatePipeline, UpdatePipeline, GetPipeline, ListPipelines, DeletePipeline: the registry and
the same path `stepline apply` takes (validate, compile, create the state machine, register).

A pipeline's version is its declaration's ``version``: 1 when created, one more at each
update. An execution records the version it started with in its input, and the engine runs it
on the state machine it started on, as Step Functions pins a running execution's definition.
When a pipeline was created is kept as a small record beside the registry entry (which holds
when it was last registered).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from stepline import wiring
from stepline.api.codepipeline.action_types import check_custom_actions
from stepline.api.codepipeline.errors import AwsError, pipeline_not_found, validation
from stepline.api.codepipeline.protocol import Call, operation
from stepline.compiler import CompilationError
from stepline.definition import DefinitionError, valid_pipeline
from stepline.errors import ConfigurationError
from stepline.ports.pipelines import RegisteredPipeline
from stepline.settings import settings

DEFAULT_PAGE = 1000  # ListPipelines' maxResults default and cap (MaxPipelines)


def entry_of(name: str) -> RegisteredPipeline:
    entry = wiring.registry().get(name)
    if entry is None:
        raise pipeline_not_found(name)
    return entry


def version_of(entry: RegisteredPipeline) -> int:
    return int(entry.declaration.get("version") or 1)


def account_of(entry: RegisteredPipeline) -> str:
    """The account the pipeline's state machine is in (the engine's own one locally)."""
    parts = entry.state_machine_arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else "000000000000"


def pipeline_arn(entry: RegisteredPipeline, region: str) -> str:
    return f"arn:aws:codepipeline:{region}:{account_of(entry)}:{entry.name}"


def _created_key(name: str) -> str:
    return f"codepipeline/created/{name}"


def created_at(entry: RegisteredPipeline) -> datetime:
    """When CreatePipeline made it; on AWS, where `stepline deploy` registers pipelines and
    keeps no such record, when it was last registered."""
    if settings().runtime != "local":
        return datetime.fromtimestamp(entry.registered_at, UTC)
    record = wiring.records().get(_created_key(entry.name)) or {}
    when = record.get("created")
    return datetime.fromtimestamp(float(when) if isinstance(when, int | float) else entry.registered_at, UTC)


def _problem_kind(problems: list[str]) -> str:
    """CodePipeline's exception for what a declaration gets wrong (actions, stages, the rest)."""
    if any(".actions[" in problem for problem in problems):
        return "InvalidActionDeclarationException"
    if any(problem.startswith("stages") for problem in problems):
        return "InvalidStageDeclarationException"
    return "InvalidStructureException"


def _register(declaration: dict[str, Any], version: int) -> RegisteredPipeline:
    """Validate and compile the declaration as `stepline apply` does, then register it."""
    try:
        loaded = valid_pipeline({**declaration, "version": version}, "pipeline")
    except DefinitionError as error:
        problems = [str(problem) for problem in error.problems]
        raise AwsError(_problem_kind(problems), "; ".join(problems[:10])) from None
    check_custom_actions(loaded.pipeline)
    try:
        host = wiring.local_host()
    except ConfigurationError as error:  # on AWS: pipelines are deployed from the user's machine
        raise validation(f"{error}; this API registers pipelines only on stepline serve") from None
    try:
        return host.apply(loaded.pipeline)
    except CompilationError as error:
        raise AwsError("InvalidStructureException", "; ".join(error.problems)) from None


@operation("CreatePipeline")
def create_pipeline(call: Call) -> dict[str, Any]:
    declaration = call.input["pipeline"]
    name = declaration["name"]
    if wiring.registry().get(name) is not None:
        raise AwsError("PipelineNameInUseException", f"A pipeline with the name '{name}' already exists")
    entry = _register(declaration, 1)
    wiring.records().put(_created_key(name), {"created": entry.registered_at})
    return {"pipeline": entry.declaration, "tags": call.input.get("tags")}


@operation("UpdatePipeline")
def update_pipeline(call: Call) -> dict[str, Any]:
    declaration = call.input["pipeline"]
    current = entry_of(declaration["name"])
    entry = _register(declaration, version_of(current) + 1)
    return {"pipeline": entry.declaration}


@operation("GetPipeline")
def get_pipeline(call: Call) -> dict[str, Any]:
    entry = entry_of(call.input["name"])
    asked = call.input.get("version")
    if asked is not None and asked != version_of(entry):
        raise AwsError(
            "PipelineVersionNotFoundException",
            f"Pipeline '{entry.name}' has version {version_of(entry)}; Stepline keeps the current version only",
        )
    metadata = {
        "pipelineArn": pipeline_arn(entry, call.region),
        "created": created_at(entry),
        "updated": datetime.fromtimestamp(entry.registered_at, UTC),
    }
    return {"pipeline": entry.declaration, "metadata": metadata}


def page_token(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode()


def page_position(token: str | None) -> str:
    """Where a page starts, from the nextToken the previous page gave."""
    if token is None:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, ValueError):
        raise AwsError("InvalidNextTokenException", "The next token was specified in an invalid format.") from None


@operation("ListPipelines")
def list_pipelines(call: Call) -> dict[str, Any]:
    after = page_position(call.input.get("nextToken"))
    size = call.input.get("maxResults") or DEFAULT_PAGE
    entries = [entry for entry in sorted(wiring.registry().all(), key=lambda e: e.name) if entry.name > after]
    page = entries[:size]
    summaries = [
        {
            "name": entry.name,
            "version": version_of(entry),
            "pipelineType": entry.declaration.get("pipelineType", "V1"),
            "executionMode": entry.declaration.get("executionMode", "SUPERSEDED"),
            "created": created_at(entry),
            "updated": datetime.fromtimestamp(entry.registered_at, UTC),
        }
        for entry in page
    ]
    more = len(entries) > size
    return {"pipelines": summaries, "nextToken": page_token(page[-1].name) if more else None}


@operation("DeletePipeline")
def delete_pipeline(call: Call) -> dict[str, Any]:
    # As on AWS, deleting a pipeline that is not there succeeds: the caller's goal holds.
    wiring.registry().delete(call.input["name"])
    return {}
