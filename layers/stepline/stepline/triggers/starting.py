"""Start the pipelines a repository change matches: once per event, whatever redelivers it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from stepline.observability import logger
from stepline.ports.pipelines import RegisteredPipeline, Registry
from stepline.ports.sources import ChangedPaths
from stepline.ports.workflows import Workflows, start_new
from stepline.triggers.changes import RepositoryChange
from stepline.triggers.matching import match

# CodePipeline's names for what started an execution (ListPipelineExecutions' trigger types);
# "GitHook" is Stepline's own, for a push to a repository on this machine.
TRIGGER_TYPES = {
    "CodeCommit": "CloudWatchEvent",
    "GitHub": "WebhookV2",
    "GitLab": "WebhookV2",
    "Bitbucket": "WebhookV2",
    "Git": "GitHook",
}
# What people call each (the console's history, `stepline serve`'s lines).
TRIGGER_NAMES = {
    "StartPipelineExecution": "Release change",
    "GitHook": "git push",
    "CloudWatchEvent": "CodeCommit push",
    "WebhookV2": "webhook push",
}


@dataclass
class TriggerReport:
    started: list[str] = field(default_factory=list)  # execution ARNs
    already_started: list[str] = field(default_factory=list)  # pipelines this event started before
    skipped: dict[str, list[str]] = field(default_factory=dict)  # pipeline → why not
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "started": self.started,
            "alreadyStarted": self.already_started,
            "skipped": self.skipped,
            "warnings": self.warnings,
        }


def trigger_input(change: RepositoryChange, actions: list[str]) -> dict[str, object]:
    """The execution input: the commit each matching source action fetches, and for a pull
    request its number, event, source and destination branches and commits."""
    trigger: dict[str, object] = {
        "type": TRIGGER_TYPES[change.provider],
        "eventId": change.event_id,
        "revisions": {action: change.revision() for action in actions},
    }
    if change.pull_request is not None:
        trigger["pullRequest"] = change.pull_request.as_json(change)
    return {"trigger": trigger, "variables": {}}


def start_one(
    entry: RegisteredPipeline,
    name: str,
    execution_input: dict[str, object],
    workflows: Workflows,
    report: TriggerReport,
) -> None:
    """Start ``entry`` as ``name`` unless an execution of that name exists: the name is derived
    from the event, so whatever delivers it again (or polls the same revision) starts nothing."""
    started = start_new(workflows, entry.state_machine_arn, name, json.dumps(execution_input, sort_keys=True))
    if started is None:
        report.already_started.append(entry.name)
    else:
        report.started.append(started)


def start_matching(
    change: RepositoryChange, registry: Registry, workflows: Workflows, changed_paths: ChangedPaths | None
) -> TriggerReport:
    report = TriggerReport()

    @cache
    def paths() -> set[str] | None:
        # Asked once, and only when some pipeline's filters look at files.
        if change.paths is not None:
            return set(change.paths)
        if changed_paths is None:
            return None
        return changed_paths.between(change.repository, change.old_commit_id, change.commit_id)

    for entry in sorted(registry.all(), key=lambda e: e.name):
        outcome = match(entry.pipeline, change, paths, entry.sources)
        if not outcome.starts:
            report.skipped[entry.name] = outcome.reasons
            continue
        start_one(entry, change.execution_name(), trigger_input(change, outcome.actions), workflows, report)
    logger.info(
        "repository change handled",
        extra={
            "repository": change.repository,
            "reference": f"{change.reference_type}/{change.reference_name}",
            "pull_request": change.pull_request.number if change.pull_request else None,
            "commit": change.commit_id,
            "event": change.event_id,
            "started": report.started,
            "already_started": report.already_started,
            "skipped": report.skipped,
        },
    )
    return report


class PushesToPipelines:
    """The Pushes port the webhook receivers hand verified changes (pushes, pull requests) to."""

    def __init__(
        self,
        registry: Registry,
        workflows: Workflows,
        changed_paths: Callable[[str], ChangedPaths | None] = lambda provider: None,
    ) -> None:
        self.registry = registry
        self.workflows = workflows
        self.changed_paths = changed_paths

    def received(self, change: RepositoryChange) -> list[str]:
        # A push lists each commit's files; a pull request's are asked for only if a filter needs them.
        paths = None if change.paths is not None else self.changed_paths(change.provider)
        return start_matching(change, self.registry, self.workflows, paths).started
