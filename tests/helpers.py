"""Builders shared by the tests: small valid pipelines to start from, and files to write them to."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from stepline.definition.plugins import PLUGINS_HANDLER
from stepline.definition.providers import GATE_PLACEHOLDER, JOBS_HANDLER, PROVIDERS

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "pipelines"
EVENTS = REPO / "events"
GOLDEN = Path(__file__).resolve().parent / "golden"
SHARED_REFERENCE = REPO.parent / "shared" / "reference" / "pipelines" / "friend-reminders.json"


def action(
    name: str,
    category: str,
    provider: str,
    owner: str = "AWS",
    *,
    configuration: dict[str, str] | None = None,
    inputs: list[str] | None = None,
    outputs: list[str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    declaration: dict[str, Any] = {
        "name": name,
        "actionTypeId": {"category": category, "owner": owner, "provider": provider, "version": "1"},
        "configuration": configuration or {},
        "inputArtifacts": [{"name": artifact} for artifact in inputs or []],
        "outputArtifacts": [{"name": artifact} for artifact in outputs or []],
    }
    declaration.update(fields)
    return declaration


def git_source(name: str = "Checkout", output: str = "Source", **fields: Any) -> dict[str, Any]:
    return action(
        name,
        "Source",
        "Git",
        "Custom",
        configuration={"RepositoryUrl": "/srv/repo.git", "BranchName": "main"},
        outputs=[output],
        **fields,
    )


def codebuild(
    name: str,
    source: str = "Source",
    output: str | None = None,
    configuration: dict[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    return action(
        name,
        "Build",
        "CodeBuild",
        configuration=configuration or {"ProjectName": name},
        inputs=[source],
        outputs=[output] if output else [],
        **fields,
    )


def approval(name: str = "Approve", **fields: Any) -> dict[str, Any]:
    return action(name, "Approval", "Manual", **fields)


def pipeline(*stages: tuple[str, list[dict[str, Any]]], **fields: Any) -> dict[str, Any]:
    """A V2 pipeline document from (stage name, actions) pairs."""
    document: dict[str, Any] = {
        "name": "demo",
        "pipelineType": "V2",
        "executionMode": "PARALLEL",
        "stages": [{"name": name, "actions": actions} for name, actions in stages],
    }
    document.update(fields)
    return document


def minimal() -> dict[str, Any]:
    """Source → Build, valid, with a namespace on each action."""
    return pipeline(
        ("Source", [git_source(namespace="SourceVariables")]),
        ("Build", [codebuild("Build", output="Built", namespace="BuildVariables")]),
    )


def maximal(stages: int = 50, actions_per_stage: int = 10) -> dict[str, Any]:
    """A pipeline at CodePipeline's limits: 50 stages; 10 actions each, in two parallel groups."""
    stage_list: list[tuple[str, list[dict[str, Any]]]] = [
        ("Source", [git_source(f"Checkout{i}", output=f"Src{i}") for i in range(actions_per_stage)])
    ]
    for stage_index in range(1, stages):
        previous = f"Src{stage_index % actions_per_stage}" if stage_index == 1 else f"Out{stage_index - 1}x0"
        actions = [
            codebuild(
                f"Build{i}",
                source=previous,
                output=f"Out{stage_index}x{i}",
                runOrder=1 + i % 2,
                configuration={
                    "ProjectName": f"project-{stage_index}-{i}",
                    "BuildspecOverride": "ci/build.yml",
                },
            )
            for i in range(actions_per_stage)
        ]
        stage_list.append((f"Stage{stage_index:02d}", actions))
    return pipeline(*stage_list, name="maximal")


def with_change(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``document`` with the dotted/indexed ``path`` set (or removed when value is ...)."""
    changed = copy.deepcopy(document)
    parts = [int(part) if part.isdigit() else part for part in path.replace("[", ".").replace("]", "").split(".")]
    target: Any = changed
    for part in parts[:-1]:
        target = target[part]
    if value is ...:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    return changed


def write(tmp_path: Path, document: Any, name: str = "pipeline.json") -> Path:
    path = tmp_path / name
    if name.endswith((".yaml", ".yml")):
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    else:
        path.write_text(json.dumps(document, indent=2))
    return path


def load_event(relative: str) -> dict[str, Any]:
    """A sample event from events/ — the same files `sam local invoke -e` uses."""
    loaded: dict[str, Any] = json.loads((EVENTS / relative).read_text())
    return loaded


def watching(
    name: str,
    provider: str = "CodeCommit",
    repository: str = "FriendReminders",
    branch: str = "master",
    push: list[dict[str, Any]] | None = None,
    pull_request: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A valid V2 pipeline whose source action ("Source") reads ``repository``; with ``push`` or
    ``pull_request``, a trigger of those filters on that action."""
    key = {"CodeCommit": "RepositoryName", "CodeStarSourceConnection": "FullRepositoryId", "Git": "RepositoryUrl"}
    configuration = {key[provider]: repository, "BranchName": branch}
    if provider == "CodeStarSourceConnection":
        configuration["ConnectionArn"] = "arn:aws:codeconnections:us-east-1:111122223333:connection/0a1b2c3d"
    owner = "Custom" if provider == "Git" else "AWS"
    document = pipeline(
        ("Source", [action("Source", "Source", provider, owner, configuration=configuration, outputs=["Src"])]),
        ("Build", [codebuild("Build", source="Src")]),
        name=name,
        **fields,
    )
    if push is not None or pull_request is not None:
        git: dict[str, Any] = {"sourceActionName": "Source"}
        git.update({"push": push} if push is not None else {})
        git.update({"pullRequest": pull_request} if pull_request is not None else {})
        document["triggers"] = [{"providerType": "CodeStarSourceConnection", "gitConfiguration": git}]
    return document


def handler_placeholders() -> list[str]:
    """Every placeholder a compiled pipeline can contain: what template.yaml and a stack provide."""
    return sorted({provider.handler for provider in PROVIDERS} | {JOBS_HANDLER, PLUGINS_HANDLER, GATE_PLACEHOLDER})


# The stack's SourceBucketArns parameter, as the trigger tests deploy it.
SOURCE_BUCKETS = ["arn:aws:s3:::example-bucket"]


def trigger_rules_routing(event: dict[str, Any]) -> list[str]:
    """The TriggerFunction's EventBridge rules in template.yaml whose pattern matches ``event``,
    by moto's EventBridge pattern matcher (SourceBucketArns resolved to ``SOURCE_BUCKETS``)."""
    from moto.events.models import EventPattern

    from stepline.local.template import load_template

    events = load_template(REPO / "template.yaml")["Resources"]["TriggerFunction"]["Properties"]["Events"]
    found = []
    for name, rule in events.items():
        if rule["Type"] != "EventBridgeRule":
            continue  # the poll schedule: EventBridge Scheduler, no pattern
        pattern = dict(rule["Properties"]["Pattern"])
        if pattern.get("resources") == {"Ref": "SourceBucketArns"}:
            pattern["resources"] = SOURCE_BUCKETS
        if EventPattern.load(json.dumps(pattern)).matches_event(event):
            found.append(name)
    return found


def stage_gate(engine: Any, folder: Path | None = None) -> Any:
    """The real stage gate (functions/gate's RunControl) for tests that run compiled pipelines on
    an engine with their own handlers: lock records in SQLite, answers through the engine."""
    import tempfile

    from stepline.adapters.local.engine import EngineCallbacks
    from stepline.adapters.local.locks import SqliteLocks
    from stepline.control.service import GateRequest, RunControl

    where = folder if folder is not None else Path(tempfile.mkdtemp(prefix="stepline-gate-"))
    control = RunControl(SqliteLocks(where / "locks.sqlite"), EngineCallbacks(engine))

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        control.handle(GateRequest.model_validate(event))
        return {}

    return handler
